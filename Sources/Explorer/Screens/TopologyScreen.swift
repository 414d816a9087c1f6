import PCISources
import PCITopology
import TerminalUI

extension ScreenID { static let topology = ScreenID("Topology") }

/// Screen 1: the bus tree (lspci -t placement) with aliases, links, p2pmem pools and the live
/// rate of every function that moves data — p2ptop's own transfers and, on the live machine,
/// any process's block, RDMA or GPU traffic.
final class TopologyScreen: ExplorerScreen {
    let id = ScreenID.topology
    /// Where the rows were drawn last (clicks map to rows through it).
    var rowsArea = Rect(x: 0, y: 0, width: 0, height: 0)

    var help: [(keys: String, what: String)] {
        [("← → h l", "collapse / expand a bridge"),
         ("Enter", "expand a bridge, or open the device"),
         ("/ F3 n", "search the tree, next match"),
         ("f", "filter the tree by kind: all, GPU, NIC, NVMe, accelerator, storage"),
         ("Esc", "clear the path marked from the matrix")]
    }

    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction {
        switch key {
        case .character("/"), .function(3): return .open(SearchDialog())
        case .character("n"): m.tree.jump(to: m.lastSearch, from: m.tree.list.selected + 1)
        case .character("f"): m.tree.cycleFilter(m.topology, names: m.names)
        default: return TopologyScreen.navigate(key, m)
        }
        return .none
    }

    /// Tree moves shared with the device and BAR screens (they follow the same selection).
    static func navigate(_ key: Key, _ m: ExplorerModel) -> ExplorerAction {
        switch key {
        case .up, .character("k"): m.tree.move(by: -1)
        case .down, .character("j"): m.tree.move(by: 1)
        case .pageUp: m.tree.move(by: -10)
        case .pageDown: m.tree.move(by: 10)
        case .home: m.tree.list.selected = 0
        case .end: m.tree.list.selected = m.tree.rows.count - 1; m.tree.clamp()
        case .left, .character("h"): m.tree.setCollapsed(true, m.topology, names: m.names)
        case .right, .character("l"): m.tree.setCollapsed(false, m.topology, names: m.names)
        case .enter:
            guard let d = m.selectedDevice else { return .none }
            if d.isBridge { m.tree.setCollapsed(!m.tree.collapsed.contains(d.bdf), m.topology, names: m.names) } else { return .show(.device) }
        default: break
        }
        return .none
    }

    /// Wheel scrolls, a click selects a row (a second click on the selected row opens it).
    func click(x: Int, y: Int, button: Int, _ m: ExplorerModel) -> ExplorerAction {
        switch button {
        case 4: m.tree.move(by: -3)
        case 5: m.tree.move(by: 3)
        default:
            guard rowsArea.contains(x: x, y: y) else { return .none }
            let row = m.tree.list.offset + (y - rowsArea.y)
            guard row < m.tree.rows.count else { return .none }
            if row == m.tree.list.selected { return TopologyScreen.navigate(.enter, m) }
            m.tree.list.selected = row
        }
        return .none
    }

    func command(_ m: ExplorerModel) -> String { "p2ptop tree" + m.sourceFlags }

    func render(in body: Rect, on c: inout Canvas, _ m: ExplorerModel) {
        let t = m.theme, topology = m.topology
        let filter = m.tree.kindFilter.map { " · filter: \($0.tag) (f)" } ?? ""
        let path = m.tree.highlightedPath.isEmpty ? "" : " · ◆ path marked (Esc clears)"
        Block(title: "Topology — \(m.tree.rows.count) shown\(filter)\(path)", style: t.border, titleStyle: t.title).render(in: body, on: &c)
        let inner = body.inner
        // Devices on the path of a running transfer show its current throughput.
        var live: [BDF: Double] = [:]
        for j in m.jobs {
            let snap = j.snapshot
            guard !snap.finished, let r = snap.rates.last else { continue }
            for b in j.path { live[b, default: 0] += r }
        }
        let measured = m.deviceRates()
        let packets = m.packetRates()
        let highlighted = Set(m.tree.highlightedPath)
        let lineOf: (TreeRow) -> Line = { row in
            guard let d = topology.device(row.bdf) else { return [] }
            let onPath = highlighted.contains(row.bdf)
            var line: Line = [Span(row.prefix, onPath ? t.accent : t.dim), Span(row.bdf.short + " ", onPath ? t.accent.bold() : t.text)]
            let kind = topology.kind(row.bdf)
            if let alias = topology.alias(row.bdf) { line.append(Span(alias.padded(6) + " ", t.accent)) } else { line.append(Span("       ")) }
            line.append(Span(m.names.vendorDevice(d), kind.isEndpointKind ? t.text : t.dim))
            if let s = d.link?.status {
                let j = topology.linkJudgement(row.bdf)
                let down = j?.isDowntrained ?? false
                line.append(Span("  " + s.text, down ? t.warn : t.good))
                if down, let j { line.append(Span(" (cap \(j.capability.text))", t.warn)) }
            } else if d.capabilities.coverage == .unreadable {
                line.append(Span("  link ?", t.dim))
            }
            if let n = d.sysfs?.numaNode { line.append(Span("  node\(n)", t.dim)) }
            if let p = d.sysfs?.p2pmem { line.append(Span("  p2pmem \(ByteSize.text(UInt64(p.size)))", t.good)) }
            if let r = live[row.bdf] { line.append(Span("  ⇄ \(format2(r)) GB/s", t.warn.bold())) }
            if let r = measured[row.bdf], r.read + r.write > 0 {
                var text = "  ⇅ r \(rateText(r.read)) w \(rateText(r.write))"
                if let cap = m.topology.linkCeiling(of: d)?.payload { text += " of \(rateText(cap))" }
                line.append(Span(text, t.warn.bold()))
            }
            if let p = packets[row.bdf], p > 0 { line.append(Span("  ⇅ rdma \(packetText(p))", t.warn.bold())) }
            // A one-column gutter on every row: the ◆ of a marked path takes it without pushing
            // that row's connectors out of line with the rest of the tree.
            line.insert(Span(onPath ? "◆" : " ", t.accent), at: 0)
            return line
        }
        rowsArea = inner
        let rows = m.tree.rows
        ListView(count: rows.count, highlight: t.selection) { lineOf(rows[$0]) }.render(in: inner, on: &c, state: &m.tree.list)
    }
}
