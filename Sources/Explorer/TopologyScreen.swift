import P2PDMA
import PCISources
import PCITopology
import TerminalUI

/// One visible row of the tree: a device, its depth and the guide drawn before it.
struct TreeRow {
    var bdf: BDF
    var prefix: String
    var searchText: String
}

extension ExplorerApp {
    /// Flattens the bus tree (lspci -t placement) into rows, honouring collapsed bridges.
    func rebuildRows() {
        rows = []
        // With a kind filter, keep the matching devices and every bridge above one.
        var keep: Set<BDF>? = nil
        if let k = kindFilter {
            var set = Set<BDF>()
            for d in topology.devices where topology.kind(d.bdf) == k {
                set.insert(d.bdf)
                set.formUnion(topology.upstreamPath(d.bdf))
            }
            keep = set
        }
        func visit(_ owner: BDF?, _ indent: String) {
            let kids = topology.children(owner).filter { keep?.contains($0) ?? true }
            for (i, b) in kids.enumerated() {
                let last = i == kids.count - 1
                guard let d = topology.device(b) else { continue }
                let branch = owner == nil ? "" : (last ? "└─" : "├─")
                let mark = d.isBridge ? (collapsed.contains(b) ? "▸ " : "▾ ") : "  "
                let alias = topology.alias(b) ?? ""
                let name = names.vendorDevice(d)
                rows.append(TreeRow(bdf: b, prefix: indent + branch + mark,
                                    searchText: (b.description + " " + alias + " " + name + " " + topology.kind(b).tag).lowercased()))
                if d.isBridge && !collapsed.contains(b) {
                    visit(b, owner == nil ? indent : indent + (last ? "  " : "│ "))
                }
            }
        }
        visit(nil, "")
    }

    /// Bytes per second read and written, per PCI function, from the block devices and RDMA
    /// ports sitting on it (their OS devices); a function with no rate yet is absent, never 0.
    func deviceRates() -> [BDF: (read: Double, write: Double)] {
        tickTelemetry()
        var out: [BDF: (read: Double, write: Double)] = [:]
        for d in topology.devices {
            var read = 0.0, write = 0.0, known = false
            for os in d.sysfs?.osDevices ?? [] {
                switch os.kind {
                case .block:
                    if let r = telemetry.series["block.read_bytes{\(os.name)}"]?.rate { read += r; known = true }
                    if let w = telemetry.series["block.write_bytes{\(os.name)}"]?.rate { write += w; known = true }
                case .openfabrics:
                    for (key, s) in telemetry.series where key.hasPrefix("rdma.") && key.contains("{\(os.name)/") {
                        guard let r = s.rate else { continue }
                        known = true
                        if key.hasPrefix("rdma.rcv_bytes") { write += r } else { read += r }
                    }
                default: break
                }
            }
            if known { out[d.bdf] = (read, write) }
        }
        return out
    }

    func rateText(_ bytesPerSecond: Double) -> String {
        let units = ["B/s", "K/s", "M/s", "G/s"]
        var v = bytesPerSecond, i = 0
        while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
        return (v >= 10 || i == 0 ? String(Int(v.rounded())) : format1(v)) + units[i]
    }

    func renderTopology(_ body: Rect, _ c: inout Canvas) {
        let filter = kindFilter.map { " · filter: \($0.tag) (f)" } ?? ""
        let path = highlightedPath.isEmpty ? "" : " · ◆ path marked (Esc clears)"
        Block(title: "Topology — \(rows.count) shown\(filter)\(path)", style: theme.border, titleStyle: theme.title).render(in: body, on: &c)
        let inner = body.inner
        // Live rates: devices on the path of a running transfer show its current throughput.
        var live: [BDF: Double] = [:]
        for j in jobs {
            let snap = j.snapshot
            guard !snap.finished, let r = snap.rates.last else { continue }
            for b in j.path { live[b, default: 0] += r }
        }
        // Any process's traffic (a training job, dd, a storage daemon): block and RDMA counters
        // attached to their PCI functions through the OS devices the topology knows — live only.
        let measured = measuredRates?() ?? (topology.source.kind == .live ? deviceRates() : [:])
        let lineOf: (TreeRow) -> Line = { [self] row in
            guard let d = topology.device(row.bdf) else { return [] }
            let onPath = highlightedPath.contains(row.bdf)
            var line: Line = [Span(row.prefix, onPath ? theme.accent : theme.dim), Span(row.bdf.short + " ", onPath ? theme.accent.bold() : theme.text)]
            let kind = topology.kind(row.bdf)
            if let alias = topology.alias(row.bdf) { line.append(Span(alias.padded(6) + " ", theme.accent)) } else { line.append(Span("       ")) }
            line.append(Span(names.vendorDevice(d), kind.isEndpointKind ? theme.text : theme.dim))
            if let l = d.link, let s = l.status {
                line.append(Span("  " + s.text, l.isDowngraded ? theme.warn : theme.good))
                if l.isDowngraded { line.append(Span(" (cap \(l.capability.text))", theme.warn)) }
            } else if d.capabilities.coverage == .unreadable {
                line.append(Span("  link ?", theme.dim))
            }
            if let n = d.sysfs?.numaNode { line.append(Span("  node\(n)", theme.dim)) }
            if let p = d.sysfs?.p2pmem { line.append(Span("  p2pmem \(sizeText(UInt64(p.size)))", theme.good)) }
            if let r = live[row.bdf] { line.append(Span("  ⇄ \(format2(r)) GB/s", theme.warn.bold())) }
            if let m = measured[row.bdf], m.read + m.write > 0 {
                var text = "  ⇅ r \(rateText(m.read)) w \(rateText(m.write))"
                if let cap = d.link?.status?.bytesPerSecond { text += " of \(rateText(cap))" }
                line.append(Span(text, theme.warn.bold()))
            }
            if onPath { line.insert(Span("◆", theme.accent), at: 0) }
            return line
        }
        treeArea = inner
        let visibleRows = rows
        ListView(count: visibleRows.count, highlight: theme.selection) { lineOf(visibleRows[$0]) }.render(in: inner, on: &c, state: &treeState)
    }

    func renderDevice(_ body: Rect, _ c: inout Canvas) {
        guard let d = selectedDevice else { return }
        let alias = topology.alias(d.bdf).map { " (\($0))" } ?? ""
        Block(title: "\(d.bdf)\(alias)", style: theme.border, titleStyle: theme.title).render(in: body, on: &c)
        var lines: [Line] = []
        func row(_ k: String, _ v: String, _ s: Style? = nil) { lines.append([Span(k.padded(14), theme.dim), Span(v, s ?? theme.text)]) }
        row("name", names.vendorDevice(d))
        row("kind", topology.kind(d.bdf).tag)
        row("class", "\(names.className(d)) [\(hex(d.classCode, width: 4))]")
        row("ids", "\(hex(d.vendorID, width: 4)):\(hex(d.deviceID, width: 4)) rev \(hex(d.revision, width: 2))")
        let up = topology.upstreamPath(d.bdf)
        row("upstream", up.isEmpty ? "root bus" : up.map { topology.alias($0) ?? $0.short }.joined(separator: " → "))
        if let f = d.sysfs {
            // A file that records no drivers (hwloc, NCCL) says so: unknown, never "none".
            let file = topology.source.kind == .hwloc || topology.source.kind == .nccl
            let unknown = "unknown (\(topology.source.configUnreadableShort))"
            row("driver", f.driver ?? (file ? unknown : "none"))
            if !f.osDevices.isEmpty { row("os devices", f.osDevices.map { "\($0.name) (\($0.kind.rawValue))" }.joined(separator: ", ")) }
            row("numa / iommu", "\(f.numaNode.map(String.init) ?? "?") / \(f.iommuGroup.map { "group \($0)" } ?? (file ? "unknown" : "none"))\(f.iommuType.map { " (\($0))" } ?? "")")
            if let p = f.p2pmem {
                row("p2pmem", "\(sizeText(p.size)) total, \(sizeText(p.available)) available, " + (p.published ? "published" : "not published"), theme.good)
            }
        }
        if let l = d.link {
            row("link", (l.status?.text ?? "?") + " of " + l.capability.text, l.isDowngraded ? theme.warn : theme.good)
        } else if d.capabilities.coverage == .unreadable {
            row("capabilities", "unknown (\(topology.source.configUnreadableShort))", theme.warn)
        }
        if let a = d.acs {
            row("ACSCtl", a.control.lspciFlags, a.control.isDisjoint(with: .p2pRedirect) ? theme.text : theme.bad)
        }
        for r in d.capabilities.resizableBARs { row("ReBAR", "BAR \(r.barIndex): \(sizeText(r.currentSize)) of up to \(sizeText(r.largestSize))") }
        if let s = d.capabilities.sriov { row("SR-IOV", "\(s.numVFs)/\(s.totalVFs) VFs") }
        for r in rdma?.devices ?? [] where r.pciAddress == d.bdf.description {
            for p in r.ports {
                row("RDMA", "\(r.name) port \(p.number) \(p.state?.name ?? "?") \(p.rate?.text ?? "rate unknown") \(p.linkLayer.rawValue)",
                    p.state == .active ? theme.good : theme.warn)
            }
        }
        lines.append([])
        lines.append([Span("BARs", theme.title)])
        if d.bars.isEmpty && (topology.source.kind == .hwloc || topology.source.kind == .nccl) {
            lines.append([Span("  unknown (\(topology.source.configUnreadableShort): no BARs kept)", theme.dim)])
        }
        for b in d.bars where b.upperHalfOf == nil || b.address != nil {
            let addr = b.address.map { "0x" + String($0, radix: 16) } ?? "unassigned"
            let kind = b.space == .io ? "I/O" : (b.is64Bit ? "64-bit" : "32-bit") + (b.prefetchable ? " pref" : "")
            lines.append([Span("  \(b.index)  ", theme.dim), Span(addr.padded(16), theme.text),
                          Span((b.size.map(sizeText) ?? "size ?").padded(10), theme.accent), Span(kind, theme.dim)])
        }
        if let br = d.bridge {
            lines.append([Span("bridge", theme.title), Span("  buses \(hex(br.secondary, width: 2))-\(hex(br.subordinate, width: 2))", theme.text)])
            // The address windows it forwards downstream (lspci's "Memory behind bridge").
            for w in br.windows {
                let span = w.isEnabled ? "0x" + String(w.base, radix: 16) + "-0x" + String(w.limit, radix: 16) : "disabled"
                lines.append([Span("  " + w.kind.rawValue.padded(14), theme.dim), Span(span.padded(36), w.isEnabled ? theme.text : theme.dim),
                              Span(w.isEnabled ? sizeText(w.size) + (w.is64Bit ? " 64-bit" : "") : "", theme.accent)])
            }
        }
        Paragraph(lines).render(in: Rect(x: body.x + 2, y: body.y + 1, width: body.width - 4, height: body.height - 2), on: &c)
    }

    func verdict(_ p: BDF, _ q: BDF) -> Verdict {
        if let v = matrixCache[p]?[q] { return v }
        let v = analyzer.verdict(provider: p, client: q)
        matrixCache[p, default: [:]][q] = v
        return v
    }

    func renderMatrix(_ body: Rect, _ c: inout Canvas) {
        Block(title: "P2P verdicts — rows provide, columns DMA", style: theme.border, titleStyle: theme.title).render(in: body, on: &c)
        let inner = body.inner
        guard endpoints.count > 1 else { c.put("fewer than two endpoints", x: inner.x, y: inner.y, theme.dim); return }
        let labels = endpoints.map { topology.alias($0.bdf) ?? $0.bdf.short }
        let labelWidth = max(8, (labels.map(\.count).max() ?? 8) + 1)
        let cell = 7
        let (grid, detail) = inner.rows(max(3, inner.height - 4))
        let visibleCols = max(1, (grid.width - labelWidth) / cell)
        let colStart = max(0, min(matrixCol - visibleCols + 1, endpoints.count - visibleCols))
        let visibleRows = max(1, grid.height - 1)
        let rowStart = max(0, min(matrixRow - visibleRows + 1, endpoints.count - visibleRows))
        for (k, j) in (colStart..<min(endpoints.count, colStart + visibleCols)).enumerated() {
            c.put(String(labels[j].prefix(cell - 1)), x: grid.x + labelWidth + k * cell, y: grid.y, j == matrixCol ? theme.accent.bold() : theme.dim, clip: grid)
        }
        for (r, i) in (rowStart..<min(endpoints.count, rowStart + visibleRows)).enumerated() {
            let y = grid.y + 1 + r
            c.put(labels[i], x: grid.x, y: y, i == matrixRow ? theme.accent.bold() : theme.dim, clip: grid)
            for (k, j) in (colStart..<min(endpoints.count, colStart + visibleCols)).enumerated() {
                let x = grid.x + labelWidth + k * cell
                let text: String
                let style: Style
                if i == j { text = "X"; style = theme.dim } else {
                    let v = verdict(endpoints[i].bdf, endpoints[j].bdf)
                    text = v.pathClass.rawValue + (v.mapType == .busAddr ? "·B" : v.mapType == .thruHostBridge ? "·H" : "·-")
                    style = v.mapType == .busAddr ? theme.good : v.mapType == .thruHostBridge ? theme.warn : theme.bad
                }
                let selected = i == matrixRow && j == matrixCol
                c.put(text, x: x, y: y, selected ? theme.selection : style, clip: grid)
            }
        }
        if matrixRow != matrixCol {
            let v = verdict(endpoints[matrixRow].bdf, endpoints[matrixCol].bdf)
            let line1: Line = [Span("\(labels[matrixRow]) → \(labels[matrixCol]): ", theme.title),
                               Span("\(v.mapType.rawValue), distance \(v.distance), \(v.pathClass.rawValue)",
                                    v.mapType == .busAddr ? theme.good : v.mapType == .thruHostBridge ? theme.warn : theme.bad)]
            let path = v.hops.map { topology.alias($0) ?? $0.short }.joined(separator: " → ")
            Paragraph([line1, [Span(v.reason, theme.text)], [Span("path: " + path, theme.dim)]]).render(in: detail, on: &c)
        }
    }
}

extension String {
    func padded(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}

func sizeText(_ bytes: UInt64) -> String {
    let units = ["B", "K", "M", "G", "T"]
    var v = bytes, i = 0
    while v >= 1024 && v % 1024 == 0 && i < units.count - 1 { v /= 1024; i += 1 }
    return "\(v)\(units[i])"
}

extension ExplorerApp {
    /// `p2ptop path` as a dialog: each hop, its link to its upstream port, ACS redirect bits,
    /// the bottleneck, and the verdict with its reason.
    func renderPath(_ screenArea: Rect, _ c: inout Canvas) {
        let p = endpoints[matrixRow].bdf, q = endpoints[matrixCol].bdf
        let v = verdict(p, q)
        func uplink(_ b: BDF) -> LinkState? {
            guard b != v.commonUpstream, topology.parent(b) != nil, let d = topology.device(b) else { return nil }
            if d.express?.portType == .rootPort || d.express?.portType == .downstreamPort { return nil }
            return d.link?.status
        }
        let links = v.hops.compactMap { b in uplink(b).flatMap { s in s.bytesPerSecond.map { (b, s, $0) } } }
        let bottleneck = links.min { $0.2 < $1.2 }?.0
        var lines: [Line] = []
        for b in v.hops {
            let name = (topology.alias(b) ?? b.short).padded(8)
            var line: Line = [Span(b == p || b == q ? "● " : "○ ", theme.accent), Span(name, theme.text),
                              Span(topology.kind(b).tag.padded(24), theme.dim)]
            if let s = uplink(b) {
                let text = "\(s.text) \(String(format1((s.bytesPerSecond ?? 0) / 1e9))) GB/s"
                line.append(Span(text.padded(22), b == bottleneck ? theme.warn.bold() : theme.good))
            } else {
                line.append(Span((b == v.commonUpstream ? "(turn-around)" : "").padded(22), theme.dim))
            }
            if let acs = topology.device(b)?.acs {
                let bits = acs.control.intersection(.p2pRedirect).names
                line.append(Span(bits.isEmpty ? "ACS: no redirect" : "ACS: " + bits.joined(separator: " "), bits.isEmpty ? theme.dim : theme.bad))
            }
            lines.append(line)
        }
        lines.append([])
        let style = v.mapType == .busAddr ? theme.good : v.mapType == .thruHostBridge ? theme.warn : theme.bad
        lines.append([Span("\(v.mapType.rawValue), distance \(v.distance), \(v.pathClass.rawValue)", style.bold())])
        lines.append([Span(String(v.reason.prefix(max(20, screenArea.width - 8))), theme.text)])
        if let b = bottleneck { lines.append([Span("bottleneck: link above \(topology.alias(b) ?? b.short)", theme.warn)]) }
        // What to change: the doctor's findings on this pair's path, remedies first.
        let findings = Doctor(analyzer: analyzer).findings(for: v).filter { $0.severity != .info }.prefix(3)
        if !findings.isEmpty {
            lines.append([])
            lines.append([Span("what to change", theme.title), Span("  (p2ptop doctor \(topology.alias(p) ?? p.short) \(topology.alias(q) ?? q.short))", theme.dim)])
            for f in findings {
                lines.append([Span("• ", f.severity == .error ? theme.bad : theme.warn), Span(String(f.remedy.prefix(max(20, screenArea.width - 10))), theme.text)])
            }
        }
        Dialog(title: "Path \(topology.alias(p) ?? p.short) → \(topology.alias(q) ?? q.short)", lines: lines,
               style: theme.text, border: theme.border).render(in: screenArea, on: &c)
    }
}
