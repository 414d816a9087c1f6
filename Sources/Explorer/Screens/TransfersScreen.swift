import P2PDMA
import P2PEngine
import PCISources
import PCITopology
import TerminalUI

extension ScreenID { static let transfers = ScreenID("Transfers") }

/// Screen 5: the transfers started here as a table (`s` sorts by the column under the
/// cursor), the selected one's throughput against its bottleneck link, and the traffic of
/// every function that moves data now — any process's — with its link's capacity and the
/// narrower link above it when there is one.
final class TransfersScreen: ExplorerScreen {
    let id = ScreenID.transfers
    var table = TableState()
    var tableArea = Rect(x: 0, y: 0, width: 0, height: 0)
    static let columns = [TableColumn("TRANSFER", width: 32), TableColumn("DONE", width: 16, numeric: true),
                          TableColumn("GB/s", width: 7, numeric: true), TableColumn("PINS", width: 6, numeric: true),
                          TableColumn("STATE", width: 12)]

    var help: [(keys: String, what: String)] {
        [("← → s", "tables (pins, transfers): the column under the cursor; s sorts by it, again reverses")]
    }

    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction {
        table.handle(key, columns: TransfersScreen.columns, count: m.jobs.count)
        return .none
    }

    func click(x: Int, y: Int, button: Int, _ m: ExplorerModel) -> ExplorerAction {
        table.click(x: x, y: y, button: button, area: tableArea, columns: TransfersScreen.columns, count: m.jobs.count)
        return .none
    }

    func command(_ m: ExplorerModel) -> String {
        guard let j = selectedJob(m) else { return "p2ptop transfer" + m.sourceFlags + " --from … --to …" }
        return j.command
    }

    func rows(_ m: ExplorerModel) -> [TableRow] {
        let t = m.theme
        return m.jobs.map { job in
            let s = job.snapshot
            let ratio = s.finished && s.ok ? 1 : Double(s.bytes) / Double(max(1, job.request.size))
            let filled = Int((max(0, min(1, ratio)) * 10).rounded())
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: 10 - filled) + " \(Int(ratio * 100))%"
            let rate = s.finished ? nil : s.rates.last
            let state = s.finished ? (s.ok ? "done" : "failed") : "running"
            return TableRow(cells: [Span(job.label, t.text), Span(bar, t.good), Span(rate.map(format2) ?? (s.finished ? "" : "…"), t.accent),
                                    Span("\(s.pinsHeld)", s.pinsHeld > 0 ? t.warn : t.dim), Span(state, s.ok ? (s.finished ? t.dim : t.good) : t.bad)],
                            keys: [.text(job.label), .number(ratio), rate.map { .number($0) } ?? .unknown, .number(Double(s.pinsHeld)), .text(state)])
        }
    }

    /// The job under the table's cursor (in the table's order), else the newest.
    func selectedJob(_ m: ExplorerModel) -> TransferJob? {
        guard !m.jobs.isEmpty else { return nil }
        let order = table.order(rows(m))
        let k = max(0, min(order.count - 1, table.list.selected))
        return m.jobs[order[k]]
    }

    func render(in body: Rect, on c: inout Canvas, _ m: ExplorerModel) {
        let t = m.theme
        Block(title: "Transfers — t starts one, c cancels", style: t.border, titleStyle: t.title).render(in: body, on: &c)
        let inner = body.inner
        var y = inner.y
        if m.jobs.isEmpty {
            let hint = m.topology.source.kind == .live ? "no transfer yet: t reads a block device with O_DIRECT (real pins); --fabric NAME for modelled P2P"
                                                       : "no transfer yet: press t, then Enter"
            c.put(hint, x: inner.x + 1, y: y + 1, t.dim, clip: inner)
            y += 3
            // What t would start, and what the model says it can reach.
            if m.topology.source.kind != .live, let r = m.defaultTransfer(), let from = r.from, let to = r.to {
                let v = m.verdict(to, from)
                let slowest = v.hops.compactMap { b in FabricModel.ceiling(b, v, in: m.topology).map { (b, $0.payload) } }.min { $0.1 < $1.1 }
                var lines: [Line] = [[Span("t starts ", t.dim), Span("\(m.name(r.from)) → \(m.name(r.to)) \(ByteSize.text(UInt64(r.size))) \(r.method.rawValue)", t.accent)],
                                     [Span("  path  ", t.dim), Span(v.hops.map { m.name($0) }.joined(separator: " → "), t.text)],
                                     [Span("  kernel", t.dim), Span(" \(v.mapType.rawValue), \(v.distanceText)", v.mapType == MapType.busAddr ? t.good : t.warn)]]
                if let s = slowest { lines.append([Span("  limit ", t.dim), Span(" ≈ \(format1(s.1 / 1e9)) GB/s payload, the link above \(m.name(s.0))", t.text)]) }
                let folded = lines.flatMap { LineWrap.wrap($0, width: inner.width - 2, indent: 9) }
                Paragraph(folded).render(in: Rect(x: inner.x + 1, y: y, width: inner.width - 2, height: folded.count), on: &c)
                y += folded.count + 1
            }
            if let inv = m.rdma { y = renderRDMA(inv, from: y, inner, &c, m) + 2 }
            renderTraffic(from: y, inner, &c, m)
            return
        }
        let tableRows = rows(m)
        let height = min(tableRows.count + 1, max(2, inner.height / 3))
        tableArea = Rect(x: inner.x, y: y, width: inner.width, height: height)
        Table(columns: TransfersScreen.columns, rows: tableRows, header: t.dim, highlight: t.selection).render(in: tableArea, on: &c, state: &table)
        y += height
        let snaps = m.jobs.map(\.snapshot)
        c.put("total \(snaps.reduce(0) { $0 + $1.bytes } >> 20) MiB moved, \(snaps.reduce(0) { $0 + $1.pinsHeld }) pins held now", x: inner.x, y: y, t.title, clip: inner)
        y += 1
        if let job = selectedJob(m), job.snapshot.finished, !job.snapshot.result.isEmpty {
            c.put(job.snapshot.result, x: inner.x + 2, y: y, job.snapshot.ok ? t.dim : t.bad, clip: inner)
            y += 1
        }
        y = renderTraffic(from: y + 1, inner, &c, m)
        if let job = selectedJob(m), y < inner.maxY - 3 {
            let s = job.snapshot
            let cap = job.bottleneck.map { $0 / 1e9 }
            let top = max(cap ?? 0, s.rates.max() ?? 0, 0.1) * 1.1
            c.put("throughput of \(job.label) (GB/s)" + (cap.map { "; ┄ = bottleneck link \(format2($0)) GB/s" } ?? "; no PCIe link known for it"),
                  x: inner.x, y: y + 1, t.dim, clip: inner)
            let chart = Rect(x: inner.x, y: y + 2, width: inner.width, height: inner.maxY - y - 2)
            BrailleChart(s.rates, maximum: top, reference: cap, style: t.good, referenceStyle: t.warn).render(in: chart, on: &c)
        }
    }

    /// Every function moving data now (block, RDMA, NVML counters; p2ptop's own or not), busiest
    /// first: its rate, its link's capacity, and the narrower link above it when there is one.
    @discardableResult func renderTraffic(from top: Int, _ inner: Rect, _ c: inout Canvas, _ m: ExplorerModel) -> Int {
        let t = m.theme
        let rates = m.deviceRates().filter { $0.value.read + $0.value.write > 0 }.sorted { $0.value.read + $0.value.write > $1.value.read + $1.value.write }
        let packets = m.packetRates().filter { $0.value > 0 }.sorted { $0.value > $1.value }
        var y = top
        guard y < inner.maxY else { return y }
        for (b, p) in packets.prefix(3) where y < inner.maxY {
            c.put([Span(m.name(b).padded(10), t.accent), Span("rdma \(packetText(p))", t.warn.bold()),
                   Span("  (soft-RoCE counts packets, not bytes)", t.dim)], x: inner.x, y: y, clip: inner)
            y += 1
        }
        if rates.isEmpty {
            if m.topology.source.kind == .live { c.put("no device traffic measured right now (block, RDMA and GPU counters)", x: inner.x, y: y, t.dim, clip: inner); y += 1 }
            if let why = m.gpuCounters?.unavailable, m.topology.source.kind == .live { c.put("GPU PCIe counters: " + why, x: inner.x, y: y, t.dim, clip: inner); y += 1 }
            return y
        }
        c.put("traffic now, any process (read / write, of the link's capacity)", x: inner.x, y: y, t.title, clip: inner)
        y += 1
        for (b, r) in rates.prefix(max(1, (inner.maxY - y) / 2)) {
            guard y < inner.maxY else { break }
            let own = m.linksAbove(b).first { $0.below == b }
            var line: Line = [Span(m.name(b).padded(10), t.accent), Span("r \(rateText(r.read))".padded(10) + "w \(rateText(r.write))".padded(10), t.warn.bold())]
            if let own {
                let share = (r.read + r.write) / own.bytesPerSecond
                line.append(Span("of \(rateText(own.bytesPerSecond)) (\(own.status.text), \(Int((share * 100).rounded()))%)", t.text))
            } else {
                line.append(Span("no PCIe link known", t.dim))
            }
            c.put(line, x: inner.x, y: y, clip: inner)
            y += 1
            if let narrow = m.upstreamBottleneck(b) {
                c.put("  upstream bottleneck: the link above \(m.name(narrow.below)), \(narrow.status.text) \(rateText(narrow.bytesPerSecond))",
                      x: inner.x, y: y, t.warn, clip: inner)
                y += 1
            }
        }
        return y
    }

    /// The machine's RDMA ports (or why there are none): what a real `--via rdma` would use.
    @discardableResult func renderRDMA(_ inv: RDMAInventory, from top: Int, _ inner: Rect, _ c: inout Canvas, _ m: ExplorerModel) -> Int {
        let t = m.theme
        var y = top
        c.put("RDMA: " + inv.summary, x: inner.x + 1, y: y, inv.devices.isEmpty ? t.dim : t.title, clip: inner)
        for d in inv.devices {
            for p in d.ports {
                y += 1
                let line = "  \(d.name) port \(p.number)  \(p.state?.name ?? "?")  \(p.rate?.text ?? "rate unknown")  \(p.linkLayer.rawValue)"
                    + (d.pciAddress.flatMap { BDF($0) }.flatMap { m.topology.alias($0) }.map { "  (\($0))" } ?? "")
                c.put(line, x: inner.x + 1, y: y, p.state == .active ? t.good : t.warn, clip: inner)
            }
        }
        if !inv.devices.isEmpty {
            y += 2
            c.put("real RDMA WRITE: p2ptop transfer --from rdma --to host --via rdma", x: inner.x + 1, y: y, t.dim, clip: inner)
        }
        return y
    }
}
