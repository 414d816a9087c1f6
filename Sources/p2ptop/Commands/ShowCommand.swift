import ArgumentParser
import PCISources
import PCITopology

/// `p2ptop show DEVICE`: everything the model knows about one function.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show everything known about one device (alias, BDF or slot selector).", discussion: "Examples:\n  p2ptop show gpu0\n  p2ptop show 0000:3b:00.0 --json")

    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "The device: an alias (gpu0, nvme1, sw0), a BDF (0000:01:00.0 or 01:00.0), or a -s style selector.", completion: Completions.device)
    var device: String

    func run() throws {
        let t = try source.loadTopology()
        let d = try t.device(named: device)
        let names = NameDatabase()
        if output.json {
            emit(JSON.object([
                ("schema", .string("p2ptop.device/1")),
                ("device", TopologyJSON.device(d, in: t, names: names)),
                ("upstream", .array(t.upstreamPath(d.bdf).map { .string($0.description) })),
            ]).serialized(pretty: true))
            return
        }
        emit(DeviceReport(device: d, topology: t, names: names, style: output.style).text())
    }
}

/// The human report for `show`.
struct DeviceReport {
    var device: Device
    var topology: Topology
    var names: NameDatabase
    var style: Style
    private var d: Device { device }
    private var t: Topology { topology }

    func text() -> String {
        var lines: [String] = []
        identity(&lines)
        osFacts(&lines)
        barList(&lines)
        bridgeWindows(&lines)
        capabilityList(&lines)
        return lines.joined(separator: "\n")
    }

    /// `key         value`: a long key keeps a space.
    static func row(_ key: String, _ value: String) -> String { "  " + key.padding(max(14, key.count + 1)) + value }

    /// Name, kind, class, IDs, header, the bridges above.
    func identity(_ lines: inout [String]) {
        func row(_ key: String, _ value: String) { lines.append(Self.row(key, value)) }
        let alias = t.alias(d.bdf).map { " (\($0))" } ?? ""
        lines.append(style.bold("\(d.bdf)\(alias)  \(names.vendorDevice(d))"))
        row("kind", t.kind(d.bdf).tag)
        row("class", "\(names.className(d)) [\(hex(d.classCode, width: 4))] prog-if \(hex(d.progIf, width: 2))")
        row("ids", "\(hex(d.vendorID, width: 4)):\(hex(d.deviceID, width: 4)) rev \(hex(d.revision, width: 2))"
            + (d.subsystemVendorID.map { " subsystem \(hex($0, width: 4)):\(hex(d.subsystemID ?? 0, width: 4))" } ?? ""))
        if let s = names.subsystem(d) { row("subsystem", s) }
        row("header", "type \(d.headerType)\(d.isMultiFunction ? ", multi-function" : "")")
        let path = t.upstreamPath(d.bdf)
        row("upstream", path.isEmpty ? "root bus" : path.map { b in t.alias(b).map { "\(b) (\($0))" } ?? b.description }.joined(separator: " → "))
    }

    /// What the OS knows: driver, NUMA node, IOMMU group, NVLinks, OS devices, p2pmem.
    func osFacts(_ lines: inout [String]) {
        func row(_ key: String, _ value: String) { lines.append(Self.row(key, value)) }
        if let f = d.sysfs {
            // hwloc's XML and NCCL's file record no driver, IOMMU group or BARs: unknown, not none.
            let file = t.source.kind == .hwloc || t.source.kind == .nccl
            let unknown = style.dim("unknown (\(t.source.configUnreadableShort))")
            row("driver", f.driver ?? (file ? unknown : "none"))
            row("numa node", f.numaNode.map(String.init) ?? "unknown")
            row("iommu group", f.iommuGroup.map { "\($0)" + (f.iommuType.map { " (\($0))" } ?? "") } ?? (file ? unknown : "none"))
            for l in t.nvlinks where l.from == d.bdf || l.target == d.bdf {
                let peer = l.from == d.bdf ? l.target : l.from
                let what = peer == d.bdf ? "itself (the file names no peer)"
                    : (t.alias(peer).map { "\($0) (\(peer.compact))" } ?? peer.description)
                    + (l.targetClass.map { $0 >> 8 == 0x0680 && l.from == d.bdf ? " — an NVSwitch" : "" } ?? "")
                row("nvlink", "NV\(l.count) to \(what)")
            }
            if !f.osDevices.isEmpty { row("os devices", f.osDevices.map { "\($0.name) (\($0.kind.rawValue))" }.joined(separator: ", ")) }
            if let p = f.p2pmem {
                row("p2pmem", "\(ByteSize.text(p.size)) total, \(ByteSize.text(p.available)) available, \(p.published ? "published" : "not published")")
            }
        } else {
            row("os facts", style.dim("none in this source (driver, NUMA, IOMMU group need sysfs or a snapshot)"))
        }
    }

    /// Each BAR as lspci lists it, with its resource files.
    func barList(_ lines: inout [String]) {
        lines.append("")
        lines.append(style.bold("  BARs"))
        if d.bars.isEmpty {
            let file = t.source.kind == .hwloc || t.source.kind == .nccl
            lines.append(file ? "    " + style.dim("unknown (\(t.source.configUnreadableShort): no BARs kept)") : "    none")
        }
        for b in d.bars {
            if let lower = b.upperHalfOf, b.address == nil {
                lines.append("    \(b.index)  (upper 32 bits of BAR \(lower))")
                continue
            }
            var s = "    \(b.index)  "
            s += b.space == .io ? "I/O " : "mem "
            s += b.address.map { "0x" + String($0, radix: 16) } ?? (b.ignored ? "<ignored>" : "<unassigned>")
            s += b.size.map { "  size " + ByteSize.text($0) } ?? d.resizableBARSize(of: b.index).map { "  size " + ByteSize.text($0) + " (its Resizable BAR control)" } ?? "  size unknown"
            if b.space == .memory { s += b.is64Bit ? "  64-bit" : "  32-bit"; s += b.prefetchable ? " prefetchable" : " non-prefetchable" }
            if b.isVirtual { s += " [virtual]" }
            if b.disabled { s += style.warn(" [disabled]") }
            if let f = d.sysfs {
                if f.resourceFiles.contains(b.index) { s += "  resource\(b.index)" }
                if f.resourceWCFiles.contains(b.index) { s += " resource\(b.index)_wc" }
            }
            lines.append(s)
        }
    }

    /// A bridge's buses and windows.
    func bridgeWindows(_ lines: inout [String]) {
        if let br = d.bridge {
            lines.append("")
            lines.append(style.bold("  Bridge") + "  buses \(hex(br.primary, width: 2)) → \(hex(br.secondary, width: 2))-\(hex(br.subordinate, width: 2))")
            for w in br.windows {
                let span = w.isEnabled ? "0x\(String(w.base, radix: 16))-0x\(String(w.limit, radix: 16)) (\(ByteSize.text(w.size)))" : "disabled"
                lines.append("    \(w.kind.rawValue.padding(13)) \(span)\(w.is64Bit ? " 64-bit" : "")")
            }
        }
    }

    /// PCIe, link, ACS, Resizable BAR, SR-IOV, extended capabilities, anomalies, AER counters.
    func capabilityList(_ lines: inout [String]) {
        // Under the heading, two columns in: the heading says what the source held, the rows
        // what was in it — every capability by offset, as lspci lists them, then the decoded ones.
        func row(_ key: String, _ value: String) { lines.append("  " + Self.row(key, value)) }
        lines.append("")
        lines.append(style.bold("  Capabilities") + "  (\(coverageText))")
        if !d.capabilities.standard.isEmpty {
            row("list", d.capabilities.standard.map { "[\(hex($0.offset, width: 2))] \(StandardCapabilityID.name($0.id))" }.joined(separator: " "))
        }
        if !d.capabilities.extended.isEmpty {
            row("extended", d.capabilities.extended.map { "[\(hex($0.offset, width: 3))] \(ExtendedCapabilityID.name($0.id))" }.joined(separator: " "))
        }
        if d.capabilities.standard.isEmpty && d.capabilities.extended.isEmpty && d.capabilities.coverage != .unreadable {
            row("list", "none: the function has no capability list")
        }
        if let e = d.express {
            row("PCIe", "v\(e.version) \(e.portType.lspciName)" + (e.physicalSlot.map { ", slot \($0)" } ?? ""))
            if let l = e.link {
                row("LnkCap", "\(l.capability.text), port \(l.portNumber)"
                    + (l.supportedSpeeds.map { ", supports " + $0.map { $0.text }.joined(separator: " ") } ?? ""))
                if let s = l.status {
                    let bw = t.linkCeiling(of: d).map { c in "\(format1(c.payload / 1e9)) GB/s of payload per direction (\(format1(c.encoded / 1e9)) after encoding, MPS \(c.payloadPerTLP)\(c.sizesKnown ? "" : " assumed"))" } ?? "no bandwidth: link down"
                    row("LnkSta", (l.isDowngraded ? style.warn("\(s.text) (downgraded)") : s.text) + ", \(bw)")
                }
                if let mps = e.maxPayload, let mrrs = e.maxReadRequest {
                    row("DevCtl", "MaxPayload \(mps) bytes, MaxReadReq \(mrrs) bytes" + (e.maxPayloadSupported.map { " (supports \($0))" } ?? ""))
                }
            }
        }
        if let a = d.acs {
            row("ACSCap", a.capability.lspciFlags)
            row("ACSCtl", a.control.lspciFlags)
        }
        for r in d.capabilities.resizableBARs {
            row(r.isVF ? "VF ReBAR" : "ReBAR", "BAR \(r.barIndex): current \(ByteSize.text(r.currentSize)), supports "
                + r.supportedSizes.map { ByteSize.text($0) }.joined(separator: " "))
        }
        if let s = d.capabilities.sriov {
            row("SR-IOV", "\(s.numVFs)/\(s.totalVFs) VFs (initial \(s.initialVFs)), \(s.enabled ? "enabled" : "disabled"), VF device \(hex(s.vfDeviceID, width: 4))")
            for b in s.vfBARs {
                row("  VF BAR \(b.index)", (b.address.map { "0x" + String($0, radix: 16) } ?? "<unassigned>")
                    + (b.is64Bit ? " 64-bit" : " 32-bit") + (b.prefetchable ? " prefetchable" : ""))
            }
        }
        for a in d.capabilities.anomalies { row("anomaly", style.bad(a)) }
        if let f = d.sysfs, !f.aerCounters.isEmpty {
            for (file, counters) in f.aerCounters.sorted(by: { $0.key < $1.key }) {
                let total = counters["TOTAL_ERR_COR"] ?? counters["TOTAL_ERR_FATAL"] ?? counters["TOTAL_ERR_NONFATAL"]
                row(file, total.map { "total \($0)" } ?? "\(counters.count) counters")
            }
        }
    }

    var coverageText: String {
        switch device.capabilities.coverage {
        case .none: return "none"
        case .unreadable:
            return style.warn("unknown (\(topology.source.configUnreadable)): only the 64-byte header")
        case .standardOnly: return "standard only: extended space not in this source"
        case .full: return "complete"
        }
    }
}
