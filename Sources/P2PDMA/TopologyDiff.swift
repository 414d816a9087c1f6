import PCITopology

/// What differs between two machines (or one machine at two times), the change that explains
/// a slow node first: endpoint pairs whose verdict or path class changed, then the kernel,
/// links, ACS, tree, BAR sizes, p2pmem, drivers, and functions added or removed. Facts one
/// side's source cannot know (a dump has no driver) are not compared, and said so.
public struct TopologyDiff: Sendable {
    /// The kinds of change, also the names `--ignore` takes.
    public enum Field: String, Sendable, CaseIterable {
        case verdict, kernel, host, link, acs, parent, barSize = "bar_size", p2pmem, driver, function
    }

    public struct Change: Sendable, Hashable {
        public var field: Field
        /// The function (or the provider of a pair); nil for machine-wide changes.
        public var device: BDF?
        /// The pair's client (verdict changes).
        public var client: BDF?
        public var before: String
        public var after: String
        /// A line a person reads: what changed and what it means.
        public var text: String
        /// A verdict change: what explains it — the host's rules (kernel, CPU, CONFIG_PCI_P2PDMA:
        /// the same pair on b's machine under a's rules keeps a's verdict) or the machine's PCIe.
        public var cause: String?
    }

    public var changes: [Change]
    /// Facts not compared because one side's source does not hold them, with why.
    public var notCompared: [String]

    public var isEqual: Bool { changes.isEmpty }

    /// `a` and `b` each with its own kernel and CPU: a node on an older kernel is a finding.
    public static func compare(_ a: P2PAnalyzer, _ b: P2PAnalyzer, ignore: Set<Field> = []) -> TopologyDiff {
        let ta = a.topology, tb = b.topology
        var changes: [Change] = []
        var notCompared: [String] = []
        func nameA(_ x: BDF) -> String { ta.alias(x).map { "\($0) (\(x.compact))" } ?? x.description }

        // Functions: by address, and by identity where a bus was renumbered.
        let onlyA = ta.devices.filter { tb.device($0.bdf) == nil }, onlyB = tb.devices.filter { ta.device($0.bdf) == nil }
        var renumbered: [BDF: BDF] = [:]   // a's address → b's
        var unmatchedB = onlyB
        for d in onlyA {
            if let i = unmatchedB.firstIndex(where: { identity($0) == identity(d) }) {
                renumbered[d.bdf] = unmatchedB[i].bdf
                unmatchedB.remove(at: i)
            }
        }
        // Same function on both sides: b's address for a's.
        func inB(_ x: BDF) -> BDF? { renumbered[x] ?? (tb.device(x) != nil ? x : nil) }
        // A function of b is named as a names it (aliases are numbered on each side apart, so
        // b's own "rp2" may be another port); one a does not have, by its address.
        let fromB = Dictionary(renumbered.map { ($0.value, $0.key) }, uniquingKeysWith: { x, _ in x })
        func nameB(_ x: BDF) -> String {
            let ax = fromB[x] ?? (ta.device(x) != nil ? x : nil)
            return ax.flatMap { ta.alias($0) }.map { "\($0) (\(x.compact))" } ?? x.description
        }
        // b's machine under a's rules: a verdict it keeps changed because of the host's rules.
        let bUnderA = P2PAnalyzer(topology: tb, kernel: a.kernel, cpu: a.cpu, p2pdmaOff: a.p2pdmaOff)
        let hostCause = hostRuleChanges(a, b)

        // 1. Endpoint pairs whose verdict or path class changed (what a workload feels).
        if !ignore.contains(.verdict) {
            let endsA = a.endpoints
            for p in endsA {
                for c in endsA where c.bdf != p.bdf {
                    guard let pb = inB(p.bdf), let cb = inB(c.bdf), tb.device(pb)?.headerType == 0 else { continue }
                    let va = a.verdict(provider: p.bdf, client: c.bdf), vb = b.verdict(provider: pb, client: cb)
                    guard va.mapType != vb.mapType || va.pathClass != vb.pathClass else { continue }
                    let before = "\(va.mapType.rawValue) \(va.pathClass.rawValue)", after = "\(vb.mapType.rawValue) \(vb.pathClass.rawValue)"
                    let kept = bUnderA.verdict(provider: pb, client: cb)
                    let cause = !hostCause.isEmpty && kept.mapType == va.mapType && kept.pathClass == va.pathClass ? hostCause.joined(separator: ", ") : "the machine's PCIe"
                    changes.append(Change(field: .verdict, device: p.bdf, client: c.bdf, before: before, after: after,
                                          text: "\(nameA(p.bdf)) → \(nameA(c.bdf)): \(before) → \(after): \(vb.reason)", cause: cause))
                }
            }
        }
        // 2. The kernel whose rules decide.
        if !ignore.contains(.kernel), a.kernel != b.kernel {
            changes.append(Change(field: .kernel, device: nil, client: nil, before: a.kernel.description, after: b.kernel.description,
                                  text: "kernel \(a.kernel) → \(b.kernel) (\(a.kernel.bucket) → \(b.kernel.bucket))"))
        }
        // The host's other facts: CPU, P2PDMA in the kernel's config, IOMMU, kernel parameters.
        if !ignore.contains(.host) { changes += hostChanges(a, b) }
        let knowsA = knowsSysfs(ta), knowsB = knowsSysfs(tb)
        for d in ta.devices {
            guard let bx = inB(d.bdf), let e = tb.device(bx) else { continue }
            // 3. Links trained differently.
            if !ignore.contains(.link) {
                let la = ta.link(of: d)?.link.status, lb = tb.link(of: e)?.link.status
                if let la, let lb, la != lb {
                    let cap = tb.link(of: e)?.link.capability
                    changes.append(Change(field: .link, device: d.bdf, client: nil, before: la.text, after: lb.text,
                                          text: "\(nameA(d.bdf)) link \(la.text) → \(lb.text)" + (cap.map { lb.width < $0.width || (lb.speed.gts ?? 0) < ($0.speed.gts ?? 0) ? " (below its \($0.text))" : "" } ?? "")))
                }
            }
            // 4. ACS control.
            if !ignore.contains(.acs), let x = d.acs, let y = e.acs, x.control != y.control {
                let before = x.control.names.joined(separator: " "), after = y.control.names.joined(separator: " ")
                changes.append(Change(field: .acs, device: d.bdf, client: nil, before: before, after: after,
                                      text: "\(nameA(d.bdf)) ACSCtl \(before.isEmpty ? "none" : before) → \(after.isEmpty ? "none" : after)"))
            }
            // 5. Moved to another parent.
            if !ignore.contains(.parent) {
                let pa = ta.parent(d.bdf).flatMap { inB($0) }, pb = tb.parent(bx)
                if pa != pb {
                    changes.append(Change(field: .parent, device: d.bdf, client: nil, before: ta.parent(d.bdf)?.description ?? "root bus",
                                          after: pb?.description ?? "root bus",
                                          text: "\(nameA(d.bdf)) moved from under \(ta.parent(d.bdf).map { nameA($0) } ?? "the root bus") to under \(pb.map { nameB($0) } ?? "the root bus")"))
                }
            }
            // 6. BAR sizes (Resizable BAR, firmware).
            if !ignore.contains(.barSize) {
                for bar in d.bars where bar.upperHalfOf == nil {
                    guard let other = e.bars.first(where: { $0.index == bar.index }), let sa = bar.size, let sb = other.size, sa != sb else { continue }
                    changes.append(Change(field: .barSize, device: d.bdf, client: nil, before: "\(sa)", after: "\(sb)",
                                          text: "\(nameA(d.bdf)) BAR \(bar.index) \(ByteSize.text(sa, .prose)) → \(ByteSize.text(sb, .prose))"))
                }
                for r in d.capabilities.resizableBARs {
                    guard let s = e.capabilities.resizableBARs.first(where: { $0.barIndex == r.barIndex && $0.isVF == r.isVF }),
                          s.currentSize != r.currentSize, d.bars.first(where: { $0.index == r.barIndex })?.size == nil else { continue }
                    changes.append(Change(field: .barSize, device: d.bdf, client: nil, before: "\(r.currentSize)", after: "\(s.currentSize)",
                                          text: "\(nameA(d.bdf)) Resizable BAR \(r.barIndex) \(ByteSize.text(r.currentSize, .prose)) → \(ByteSize.text(s.currentSize, .prose))"))
                }
            }
            guard knowsA && knowsB else { continue }
            // 7. p2pmem published or not.
            if !ignore.contains(.p2pmem) {
                func state(_ p: P2PMem?) -> String { p.map { "\(ByteSize.text($0.size, .prose)) \($0.published ? "published" : "not published")" } ?? "none" }
                let x = state(d.sysfs?.p2pmem), y = state(e.sysfs?.p2pmem)
                if x != y { changes.append(Change(field: .p2pmem, device: d.bdf, client: nil, before: x, after: y, text: "\(nameA(d.bdf)) p2pmem \(x) → \(y)")) }
            }
            // 8. Driver.
            if !ignore.contains(.driver) {
                let x = d.sysfs?.driver ?? "none", y = e.sysfs?.driver ?? "none"
                if x != y { changes.append(Change(field: .driver, device: d.bdf, client: nil, before: x, after: y, text: "\(nameA(d.bdf)) driver \(x) → \(y)")) }
            }
        }
        if !(knowsA && knowsB) {
            let which = !knowsA ? ta.source : tb.source
            notCompared.append("driver and p2pmem: \(which.kind == .dump ? "a dump holds config space only" : "the \(which.kind.rawValue) source does not hold them")")
        }
        // 9. Functions added, removed, renumbered.
        if !ignore.contains(.function) {
            for (x, y) in renumbered.sorted(by: { $0.key < $1.key }) {
                changes.append(Change(field: .function, device: x, client: nil, before: x.description, after: y.description,
                                      text: "\(nameA(x)) renumbered to \(y) (the same device: \(identityText(ta.device(x)!)))"))
            }
            for d in onlyA where renumbered[d.bdf] == nil {
                changes.append(Change(field: .function, device: d.bdf, client: nil, before: identityText(d), after: "absent",
                                      text: "\(nameA(d.bdf)) removed (\(identityText(d)))"))
            }
            for d in unmatchedB {
                changes.append(Change(field: .function, device: d.bdf, client: nil, before: "absent", after: identityText(d),
                                      text: "\(nameB(d.bdf)) added (\(identityText(d)))"))
            }
        }
        let order = Field.allCases
        let sorted = changes.enumerated().sorted { l, r in
            let a = order.firstIndex(of: l.element.field)!, b = order.firstIndex(of: r.element.field)!
            return a != b ? a < b : l.offset < r.offset
        }.map(\.element)
        return TopologyDiff(changes: sorted, notCompared: notCompared)
    }

    /// The host's rules that differ and decide verdicts: the kernel, the CPU (the AMD Zen
    /// host-bridge rule), CONFIG_PCI_P2PDMA.
    static func hostRuleChanges(_ a: P2PAnalyzer, _ b: P2PAnalyzer) -> [String] {
        var out: [String] = []
        if a.kernel != b.kernel { out.append("the kernel (\(a.kernel) → \(b.kernel))") }
        if a.cpu != b.cpu { out.append("the CPU (\(a.cpu) → \(b.cpu))") }
        if (a.p2pdmaOff == nil) != (b.p2pdmaOff == nil) { out.append("CONFIG_PCI_P2PDMA (\(a.p2pdmaOff == nil ? "set" : "not set") → \(b.p2pdmaOff == nil ? "set" : "not set"))") }
        return out
    }

    /// CPU, P2PDMA config, IOMMU and kernel parameters, where both sides know them.
    static func hostChanges(_ a: P2PAnalyzer, _ b: P2PAnalyzer) -> [Change] {
        var out: [Change] = []
        func add(_ what: String, _ x: String, _ y: String) {
            if x != y { out.append(Change(field: .host, device: nil, client: nil, before: x, after: y, text: "\(what) \(x) → \(y)")) }
        }
        // A fact one side's source cannot know (a dump has no CPU) is not a change — though
        // where it explains verdicts that changed, it is named as their cause.
        if a.cpu.vendor != nil && b.cpu.vendor != nil { add("CPU", a.cpu.description, b.cpu.description) }
        guard let fa = a.topology.host.facts, let fb = b.topology.host.facts else { return out }
        add("CONFIG_PCI_P2PDMA", a.p2pdmaOff == nil ? "set or unknown" : "not set", b.p2pdmaOff == nil ? "set or unknown" : "not set")
        func iommu(_ f: HostFacts) -> String { f.iommuUnits.isEmpty ? "off" : f.iommuUnits.joined(separator: " ") + (f.iommuDefaultDomain.map { " (\($0))" } ?? "") }
        add("IOMMU", iommu(fa), iommu(fb))
        add("kernel parameters", fa.cmdlineFlags.isEmpty ? "none" : fa.cmdlineFlags.joined(separator: " "), fb.cmdlineFlags.isEmpty ? "none" : fb.cmdlineFlags.joined(separator: " "))
        return out
    }

    /// What makes two functions the same device across a renumbering.
    static func identity(_ d: Device) -> [UInt32] {
        [UInt32(d.vendorID), UInt32(d.deviceID), UInt32(d.classCode), UInt32(d.subsystemVendorID ?? 0), UInt32(d.subsystemID ?? 0), UInt32(d.revision)]
    }

    static func identityText(_ d: Device) -> String {
        hex(d.vendorID, width: 4) + ":" + hex(d.deviceID, width: 4) + " class " + hex(d.classCode, width: 4)
    }

    static func knowsSysfs(_ t: Topology) -> Bool {
        switch t.source.kind {
        case .live, .sysfsRoot, .snapshot, .fabric: return true
        case .dump, .hwloc, .nccl: return false
        }
    }
}
