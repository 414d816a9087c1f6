import PCITopology

/// One thing that blocks or slows P2P DMA, with the remedy (shown to the user, never run).
public struct Finding: Hashable, Sendable {
    public enum Severity: String, Sendable, Comparable {
        case error, warning, info
        var rank: Int { self == .error ? 0 : self == .warning ? 1 : 2 }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }
    public var severity: Severity
    public var code: String
    public var devices: [BDF]
    public var message: String
    public var remedy: String
}

/// The doctor's rules, each a small pure function over the analyzer's topology.
public struct Doctor: Sendable {
    public let analyzer: P2PAnalyzer
    public init(analyzer: P2PAnalyzer) { self.analyzer = analyzer }

    var topology: Topology { analyzer.topology }

    func name(_ b: BDF) -> String { topology.alias(b).map { "\($0) (\(b))" } ?? b.description }

    /// All findings, or only those on one pair's path when `pair` is given; errors first.
    public func findings(for pair: Verdict? = nil) -> [Finding] {
        let onPath = pair.map { Set($0.hops) }
        var all: [Finding] = []
        all += kernelFindings()
        // ACS redirect decides a pair only on the walk to a common upstream bridge: without
        // one the kernel goes to the host bridge whatever the bits say (and says nothing of
        // them), so disabling redirect would change nothing — seen on the lab's 6.12.
        if pair == nil || pair?.commonUpstream != nil { all += acsFindings(only: onPath) }
        all += hostBridgeFindings(pair: pair)
        all += linkFindings(only: onPath)
        all += rebarFindings(only: onPath)
        all += providerFindings(only: onPath)
        all += iommuFindings(only: onPath)
        all += unknownFindings(only: onPath)
        all += reachabilityFindings(pair: pair)
        return all.sorted { $0.severity < $1.severity }
    }

    func kernelFindings() -> [Finding] {
        let k = analyzer.kernel
        guard !k.userspaceP2PDMA else { return [] }
        return [Finding(severity: .warning, code: "kernel-too-old", devices: [],
                        message: "kernel \(k) predates userspace P2PDMA (mmap of p2pmem/allocate with O_DIRECT needs 6.2)",
                        remedy: "run a 6.2 or later kernel built with CONFIG_PCI_P2PDMA=y")]
    }

    /// Ports whose ACS Control redirects peer traffic up to the root complex.
    func acsFindings(only: Set<BDF>?) -> [Finding] {
        let redirecting = topology.devices.filter { d in
            (only?.contains(d.bdf) ?? true) && analyzer.acsState(d.bdf) == .redirects
        }
        guard !redirecting.isEmpty else { return [] }
        let list = redirecting.map { $0.bdf.description }.joined(separator: ";")
        let groups = Set(redirecting.compactMap { $0.sysfs?.iommuGroup })
        let groupNote = groups.isEmpty ? "" : " Devices below them then share IOMMU groups with their peers (today: groups \(groups.sorted().map(String.init).joined(separator: ", ")))."
        let remedy = Remedies.acsRedirectOff(redirecting.map(\.bdf), kernel: analyzer.kernel).map {
            // No punctuation touches a parameter: each pastes as it stands.
            $0 + " — only where device isolation between these peers is not needed." + groupNote
        } ?? Remedies.acsRedirectOffUnavailable(kernel: analyzer.kernel)
        return [Finding(severity: .warning, code: "acs-redirect", devices: redirecting.map(\.bdf),
                        message: "ACS redirect (RR/CR/EC) is on at " + redirecting.map { name($0.bdf) }.joined(separator: ", ")
                            + ": peer traffic below them is sent up to the root complex, so pairs below them are not BUS_ADDR.",
                        remedy: remedy)]
    }

    /// Root buses whose host bridge is not allowlisted (matters unless the AMD Zen rule applies).
    func hostBridgeFindings(pair: Verdict?) -> [Finding] {
        if analyzer.kernel.amdZenRule && analyzer.cpu.isAMDZenOrLater { return [] }
        var result: [Finding] = []
        var bridges: [HostBridge] = []
        if let v = pair {
            if case .notAllowlisted(let hbs)? = v.hostBridgeRule { bridges = hbs }
            if case .needsSameHostBridge(let e)? = v.hostBridgeRule {
                result.append(Finding(severity: .error, code: "host-bridge-same-only", devices: [v.provider, v.client],
                                      message: "\(e) allows P2P only within one host bridge; this pair spans two",
                                      remedy: "place both devices under the same root complex (same root bus)"))
            }
        } else {
            var seen = Set<HostBridge>()
            for d in analyzer.endpoints {
                let hb = analyzer.hostBridge(of: d.bdf)
                if seen.insert(hb).inserted && analyzer.matchEntry(hb) == nil { bridges.append(hb) }
            }
        }
        for hb in bridges {
            result.append(Finding(severity: pair == nil ? .warning : .error, code: "host-bridge-not-allowlisted",
                                  devices: hb.device.map { [$0] } ?? [],
                                  message: "host bridge \(hb) is not in kernel \(analyzer.kernel)'s P2PDMA allowlist"
                                      + (analyzer.cpu.vendor == nil ? " (CPU unknown: the AMD Zen rule was not applied; pass --cpu)" : "")
                                      + ": pairs routed through it are NOT_SUPPORTED",
                                  remedy: Remedies.hostBridgeNotAllowlisted(hb, kernel: analyzer.kernel, cpu: analyzer.cpu)))
        }
        return result
    }

    /// Links trained below what both ends can do (the device's and its upstream port's LnkCap);
    /// where the port alone is narrower or slower than the card, that is the slot, said once
    /// per port as information.
    func linkFindings(only: Set<BDF>?) -> [Finding] {
        var out: [Finding] = []
        var slotNoted: Set<BDF> = []
        for d in topology.devices where only?.contains(d.bdf) ?? true {
            guard let j = topology.linkJudgement(d.bdf), let s = j.status, s.width > 0 else { continue }
            if j.isDowntrained {
                let both = j.partner == nil ? "its capability \(j.capability.text)" : "what both ends can do, \(j.capability.text)"
                let limit = j.limitedByPartner ? " (the port above, \(name(j.partnerPort!)), is \(j.partner!.text))" : ""
                out.append(Finding(severity: .warning, code: "link-downtrained", devices: [d.bdf],
                                   message: "\(name(d.bdf)) trained at \(s.text), below \(both)\(limit)",
                                   remedy: "reseat the card; check the slot's wiring, the partner port and the firmware's link-speed settings; watch AER counters"))
            } else if j.limitedByPartner, let port = j.partnerPort, !slotNoted.contains(port) {
                slotNoted.insert(port)
                let p = j.partner!
                let what = [p.width < j.device.width ? "x\(p.width)" : nil, p.speed < j.device.speed ? p.speed.text : nil].compactMap { $0 }.joined(separator: " at ")
                out.append(Finding(severity: .info, code: "link-limited-by-port", devices: [d.bdf, port],
                                   message: "\(name(d.bdf)) can do \(j.device.text), but the port above it, \(name(port)), is \(what): the link runs at \(s.text), all this slot allows",
                                   remedy: "the slot, not the card, limits it: a slot wired for \(j.device.text) gives the full link"))
            }
        }
        return out
    }

    func rebarFindings(only: Set<BDF>?) -> [Finding] {
        topology.devices.flatMap { d -> [Finding] in
            guard only?.contains(d.bdf) ?? true else { return [] }
            return d.capabilities.resizableBARs.filter { !$0.isVF && $0.currentSize < $0.largestSize }.map { r in
                var why = ""
                if let (port, size) = narrowestPrefetchableWindow(above: d.bdf), size < r.largestSize {
                    why = "; the upstream port \(name(port)) forwards only a \(ByteSize.text(size, .prose)) prefetchable window, so the BAR cannot grow past that until the firmware assigns a larger one"
                }
                return Finding(severity: .info, code: "rebar-small", devices: [d.bdf],
                        message: "\(name(d.bdf)) BAR \(r.barIndex) is \(ByteSize.text(r.currentSize, .prose)); Resizable BAR allows up to \(ByteSize.text(r.largestSize, .prose))" + why,
                        remedy: "enable Resizable BAR / Above 4G decoding in the firmware, or resize via /sys/bus/pci/devices/\(d.bdf)/resource\(r.barIndex)_resize with the driver unbound")
            }
        }
    }

    /// The smallest enabled prefetchable window on the bridges above a device: the most a
    /// prefetchable BAR below them can grow into.
    func narrowestPrefetchableWindow(above b: BDF) -> (BDF, UInt64)? {
        topology.upstreamPath(b).compactMap { u -> (BDF, UInt64)? in
            guard let w = topology.device(u)?.bridge?.windows.first(where: { $0.kind == .prefetchable && $0.isEnabled }) else { return nil }
            return (u, w.size)
        }.min { $0.1 < $1.1 }
    }

    func providerFindings(only: Set<BDF>?) -> [Finding] {
        topology.devices.compactMap { d in
            guard only?.contains(d.bdf) ?? true, let p = d.sysfs?.p2pmem, !p.published else { return nil }
            return Finding(severity: .info, code: "p2pmem-unpublished", devices: [d.bdf],
                           message: "\(name(d.bdf)) registers \(ByteSize.text(p.size, .prose)) of p2pmem but does not publish it: pci_p2pmem_find() will not hand it out",
                           remedy: "let the driver publish it (NVMe: the CMB with SQs/data support; p2pmem-pci: published by default)")
        }
    }

    func iommuFindings(only: Set<BDF>?) -> [Finding] {
        let translating = topology.devices.filter { d in
            (only?.contains(d.bdf) ?? true) && ["DMA", "DMA-FQ"].contains(d.sysfs?.iommuType ?? "")
        }
        guard !translating.isEmpty else { return [] }
        return [Finding(severity: .info, code: "iommu-translating", devices: translating.map(\.bdf),
                        message: "\(translating.count) device(s) are in translating IOMMU domains: THRU_HOST_BRIDGE transfers go through IOVAs, and the IOMMU driver turns ACS redirect on",
                        remedy: "iommu=pt (or the per-group type identity) keeps host-bridge P2P off the IOMMU; BUS_ADDR pairs are unaffected")]
    }

    func unknownFindings(only: Set<BDF>?) -> [Finding] {
        let unknown = topology.devices.filter { (only?.contains($0.bdf) ?? true) && $0.capabilities.coverage == .unreadable }
        guard !unknown.isEmpty else { return [] }
        return [Finding(severity: .info, code: "capabilities-unknown", devices: unknown.map(\.bdf),
                        message: "capabilities of \(unknown.count) device(s) are unknown (config space past 64 bytes unreadable): ACS and links may hide findings",
                        remedy: topology.source.kind == .hwloc
                            ? "hwloc XML keeps no capabilities: read a p2ptop snapshot or an lspci -xxxx dump taken as root on that machine"
                            : "run as root, or read a snapshot taken as root")]
    }
}

