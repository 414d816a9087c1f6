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

    /// The side pane needs this many columns of the body beside the tree.
    static let sidePaneFrom = 150

    func render(in body: Rect, on c: inout Canvas, _ m: ExplorerModel) {
        let t = m.theme
        let filter = m.tree.kindFilter.map { " · filter: \($0.tag) (f)" } ?? ""
        let path = m.tree.highlightedPath.isEmpty ? "" : " · ◆ path marked (Esc clears)"
        Block(title: "Topology — \(m.tree.rows.count) shown\(filter)\(path)", style: t.border, titleStyle: t.title).render(in: body, on: &c)
        let inner = body.inner
        // Wide: the tree on the left, the selected function's pane on the right.
        var treeArea = inner
        if inner.width >= TopologyScreen.sidePaneFrom {
            let side: Rect
            (side, treeArea) = inner.columns(-min(60, inner.width / 3))
            for y in side.y..<side.maxY { c.put("│", x: side.x, y: y, t.border) }
            SidePane().render(in: Rect(x: side.x + 2, y: side.y, width: side.width - 3, height: side.height), on: &c, m)
        }
        renderTree(in: treeArea, on: &c, m)
    }

    /// The tree in columns under a header: the function (branches, BDF, alias, name), its link,
    /// its NUMA node, and notes (a downtrained link's capability, the p2pmem pool, live rates).
    func renderTree(in area: Rect, on c: inout Canvas, _ m: ExplorerModel) {
        let t = m.theme, topology = m.topology, rows = m.tree.rows
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
        // A row's notes: a downtrained link's capability, the p2pmem pool, live rates.
        func notesOf(_ b: BDF, _ d: Device) -> Line {
            var notes: Line = []
            let judgement = topology.linkJudgement(b)
            let down = judgement?.isDowntrained ?? false
            if down, let j = judgement { notes.append(Span("↓ cap \(j.capability.text)", t.warn)) }
            if let p = d.sysfs?.p2pmem { notes.append(Span("p2pmem \(ByteSize.text(UInt64(p.size)))", t.good)) }
            if let r = live[b] { notes.append(Span("⇄ \(format2(r)) GB/s", t.warn.bold())) }
            if let r = measured[b], r.read + r.write > 0 {
                var text = "⇅ r \(rateText(r.read)) w \(rateText(r.write))"
                if let cap = m.topology.linkCeiling(of: d)?.payload { text += " of \(rateText(cap))" }
                notes.append(Span(text, t.warn.bold()))
            }
            if let p = packets[b], p > 0 { notes.append(Span("⇅ rdma \(packetText(p))", t.warn.bold())) }
            return notes.enumerated().flatMap { i, s in i == 0 ? [s] : [Span("  "), s] }
        }
        let notesWidth = rows.compactMap { r in topology.device(r.bdf).map { notesOf(r.bdf, $0).reduce(0) { $0 + $1.text.count } } }.max() ?? 0
        let hasNode = topology.devices.contains { $0.sysfs?.numaNode != nil }
        // Narrow (80 columns): no notes column — a row's notes end its function column, the name
        // giving way to them, so the link and node columns stay in line.
        let notesColumn = area.width >= 100
        let linkWidth = 12, nodeWidth = hasNode ? 6 : 0
        // The function column: as wide as its longest row, leaving the notes at least 14 columns.
        let longest = rows.map { 1 + $0.prefix.count + 15 + (topology.device($0.bdf).map { m.names.vendorDevice($0).count } ?? 0) }.max() ?? 40
        let functionWidth = max(24, min(longest + 1, area.width - linkWidth - nodeWidth - (notesColumn && notesWidth > 0 ? max(14, notesWidth + 1) : 0)))
        var (headerRow, listArea) = area.rows(1)
        // A tall terminal's spare rows under the tree show the P2P endpoints' verdicts.
        let glance = P2PGlance(m, kind: m.tree.kindFilter)
        if listArea.height - rows.count >= glance.height + 1, glance.width(m) <= listArea.width, glance.endpoints.count >= 2 {
            let below: Rect
            (below, listArea) = listArea.rows(-glance.height)
            glance.render(in: below, on: &c, m)
        }
        var header = "  BUS:DEV.FN ALIAS  DEVICE".padded(functionWidth) + "LINK".padded(linkWidth)
        if hasNode { header += "NODE".padded(nodeWidth) }
        c.put(header + (notesColumn ? "NOTES" : ""), x: headerRow.x, y: headerRow.y, t.dim.bold(), clip: headerRow)
        let lineOf: (TreeRow) -> Line = { row in
            guard let d = topology.device(row.bdf) else { return [] }
            let onPath = highlighted.contains(row.bdf)
            let kind = topology.kind(row.bdf)
            let notes = notesOf(row.bdf, d)
            let down = topology.linkJudgement(row.bdf)?.isDowntrained ?? false
            let notesLength = notes.reduce(0) { $0 + $1.text.count }
            // A one-column gutter on every row: the ◆ of a marked path takes it without pushing
            // that row's connectors out of line with the rest of the tree.
            var line: Line = [Span(onPath ? "◆" : " ", t.accent), Span(row.prefix, onPath ? t.accent : t.dim),
                              Span(row.bdf.short + " ", onPath ? t.accent.bold() : t.text)]
            line.append(Span((topology.alias(row.bdf) ?? "").padded(6) + " ", t.accent))
            let used = 1 + row.prefix.count + 15
            let nameStyle = kind.isEndpointKind ? t.text : t.dim
            if notesColumn || notes.isEmpty {
                line.append(Span(TextCut.words(m.names.vendorDevice(d), max(1, functionWidth - used - 1)).padded(max(0, functionWidth - used)), nameStyle))
            } else {
                let name = TextCut.words(m.names.vendorDevice(d), max(1, functionWidth - used - notesLength - 2))
                line.append(Span(name + " ", nameStyle))
                line += notes
                line.append(Span(String(repeating: " ", count: max(1, functionWidth - used - name.count - 1 - notesLength))))
            }
            if let s = d.link?.status {
                line.append(Span(s.text.padded(linkWidth), down ? t.warn : t.good))
            } else {
                line.append(Span((d.capabilities.coverage == .unreadable ? "?" : "").padded(linkWidth), t.dim))
            }
            if hasNode { line.append(Span((d.sysfs?.numaNode.map { "\($0)" } ?? "").padded(nodeWidth), t.dim)) }
            return notesColumn ? line + notes : line
        }
        rowsArea = listArea
        ListView(count: rows.count, highlight: t.selection) { lineOf(rows[$0]) }.render(in: listArea, on: &c, state: &m.tree.list)
    }
}
