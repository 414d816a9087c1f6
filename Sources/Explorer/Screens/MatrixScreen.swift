import P2PDMA
import PCITopology
import TerminalUI

extension ScreenID { static let matrix = ScreenID("P2P matrix") }

/// Screen 3: every endpoint pair's verdict (rows provide, columns DMA), the selected pair's
/// reason below; `p` opens its path, Enter marks the path in the tree.
final class MatrixScreen: ExplorerScreen {
    let id = ScreenID.matrix
    var row = 0, col = 1
    /// Where the grid was drawn last (clicks select a cell through it).
    var gridArea = Rect(x: 0, y: 0, width: 0, height: 0)
    var labelWidth = 8, rowStart = 0, colStart = 0
    /// A column's width: the longest label (a whole alias or BDF) and a space, at least 7.
    var cell = 7
    static let legend = "PIX one switch · PXB switches · PHB host bridge · NODE same node · SYS across nodes │ B bus address · H thru host bridge · - not supported"
    static let shortLegend = "PIX/PXB switch · PHB host bridge · NODE/SYS CPUs │ B bus addr · H host · - no"
    static func legend(width: Int) -> String { legend.count <= width ? legend : shortLegend }

    var help: [(keys: String, what: String)] {
        [("p", "on the matrix: the pair's hops, links, ACS bits and bottleneck"),
         ("f", "on the matrix: every function, or only those that can do P2P DMA"),
         ("Enter", "on the matrix: mark the pair's path in the tree")]
    }

    func clampCursor(_ m: ExplorerModel) {
        let n = m.endpoints.count
        row = max(0, min(n - 1, row)); col = max(0, min(n - 1, col))
    }

    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction {
        let n = m.endpoints.count
        switch key {
        case .up, .character("k"): row = max(0, row - 1)
        case .down, .character("j"): row = min(n - 1, row + 1)
        case .left, .character("h"): col = max(0, col - 1)
        case .right, .character("l"): col = min(n - 1, col + 1)
        case .pageUp: row = max(0, row - 10)
        case .pageDown: row = min(n - 1, row + 10)
        case .character("f"):
            m.matrixShowsAll.toggle()
            clampCursor(m)
            m.message = m.matrixShowsAll ? "matrix: every endpoint function (\(m.endpoints.count)); f for those that can do P2P DMA"
                                         : "matrix: the \(m.endpoints.count) endpoints that can do P2P DMA; f for every function"
        case .character("p"):
            guard row != col, n > 1 else { return .none }
            return .open(PathDialog(provider: m.endpoints[row].bdf, client: m.endpoints[col].bdf))
        case .enter:
            guard n > 0 else { return .none }
            let hops = row != col ? m.verdict(m.endpoints[row].bdf, m.endpoints[col].bdf).hops : []
            m.tree.mark(hops, select: m.endpoints[row].bdf, m.topology, names: m.names)
            return .show(.topology)
        default: break
        }
        return .none
    }

    /// A click selects a cell; a click on the selected cell opens its path; the wheel moves rows.
    func click(x: Int, y: Int, button: Int, _ m: ExplorerModel) -> ExplorerAction {
        let n = m.endpoints.count
        switch button {
        case 4: row = max(0, row - 1)
        case 5: row = min(n - 1, row + 1)
        default:
            guard gridArea.contains(x: x, y: y), y > gridArea.y, x >= gridArea.x + labelWidth else { return .none }
            let r = rowStart + (y - gridArea.y - 1), k = colStart + (x - gridArea.x - labelWidth) / cell
            guard r < n, k < n else { return .none }
            if r == row && k == col { return handle(.character("p"), m) }
            row = r; col = k
        }
        return .none
    }

    func command(_ m: ExplorerModel) -> String {
        guard m.endpoints.count > 1 else { return "p2ptop matrix" + m.sourceFlags }
        clampCursor(m)
        return "p2ptop path \(m.name(m.endpoints[row].bdf)) \(m.name(m.endpoints[col].bdf))" + m.sourceFlags
    }

    func render(in body: Rect, on c: inout Canvas, _ m: ExplorerModel) {
        let t = m.theme, endpoints = m.endpoints
        clampCursor(m)
        Block(title: "P2P verdicts — rows provide, columns DMA", style: t.border, titleStyle: t.title).render(in: body, on: &c)
        let inner = body.inner
        guard endpoints.count > 1 else { c.put("fewer than two endpoints", x: inner.x, y: inner.y, t.dim); return }
        let labels = endpoints.map { m.topology.alias($0.bdf) ?? $0.bdf.short }
        let longest = labels.map(\.count).max() ?? 7
        let labelWidth = max(8, longest + 1)
        let cell = min(16, max(7, longest + 1))
        self.cell = cell
        // Wide: the grid on the left, the selected pair's path hop by hop on the right.
        let gridNeeded = labelWidth + endpoints.count * cell + 1
        var left = inner, side: Rect? = nil
        if inner.width >= 140 {
            let sideWidth = inner.width - max(inner.width / 2, min(gridNeeded, inner.width - 60))
            let s: Rect
            (s, left) = inner.columns(-sideWidth)
            side = s
        }
        let (grid, detail) = side == nil ? left.rows(max(3, left.height - 4)) : (left, Rect(x: 0, y: 0, width: 0, height: 0))
        gridArea = grid; self.labelWidth = labelWidth
        let visibleCols = max(1, (grid.width - labelWidth) / cell)
        colStart = max(0, min(col - visibleCols + 1, endpoints.count - visibleCols))
        let visibleRows = max(1, grid.height - 1)
        rowStart = max(0, min(row - visibleRows + 1, endpoints.count - visibleRows))
        for (k, j) in (colStart..<min(endpoints.count, colStart + visibleCols)).enumerated() {
            c.put(labels[j], x: grid.x + labelWidth + k * cell, y: grid.y, j == col ? t.accent.bold() : t.dim, clip: grid)
        }
        for (r, i) in (rowStart..<min(endpoints.count, rowStart + visibleRows)).enumerated() {
            let y = grid.y + 1 + r
            c.put(labels[i], x: grid.x, y: y, i == row ? t.accent.bold() : t.dim, clip: grid)
            for (k, j) in (colStart..<min(endpoints.count, colStart + visibleCols)).enumerated() {
                let x = grid.x + labelWidth + k * cell
                let text: String
                let style: Style
                if i == j { text = "X"; style = t.dim } else {
                    let v = m.verdict(endpoints[i].bdf, endpoints[j].bdf)
                    text = v.pathClass.rawValue + (v.mapType == .busAddr ? "·B" : v.mapType == .thruHostBridge ? "·H" : "·-")
                    style = v.mapType == .busAddr ? t.good : v.mapType == .thruHostBridge ? t.warn : t.bad
                }
                let selected = i == row && j == col
                c.put(text, x: x, y: y, selected ? t.selection : style, clip: grid)
            }
        }
        if let side {
            for y in side.y..<side.maxY { c.put("│", x: side.x, y: y, t.border) }
            let pane = Rect(x: side.x + 2, y: side.y, width: side.width - 3, height: side.height)
            var lines: [Line] = row != col ? [[Span("\(labels[row]) → \(labels[col])", t.title)]] + PathDialog.lines(endpoints[row].bdf, endpoints[col].bdf, m)
                                           : [[Span("the diagonal: a device with itself", t.dim)]]
            lines += [[], [Span(Self.legend, t.dim)], [Span("p opens this as a dialog · Enter marks the path in the tree · f every function", t.dim)]]
            Paragraph(lines.flatMap { LineWrap.wrap($0, width: pane.width, indent: 2) }).render(in: pane, on: &c)
            return
        }
        if row != col {
            let v = m.verdict(endpoints[row].bdf, endpoints[col].bdf)
            let line1: Line = [Span("\(labels[row]) → \(labels[col]): ", t.title),
                               Span("\(v.mapType.rawValue), \(v.distanceText), \(v.pathClass.rawValue)",
                                    v.mapType == .busAddr ? t.good : v.mapType == .thruHostBridge ? t.warn : t.bad)]
            let path = v.hops.map { m.topology.alias($0) ?? $0.short }.joined(separator: " → ")
            Paragraph([line1, [Span(v.reason, t.text)], [Span("path: " + path, t.dim)], [Span(Self.legend(width: detail.width), t.dim)]]).render(in: detail, on: &c)
        } else {
            Paragraph([[], [], [], [Span(Self.legend(width: detail.width), t.dim)]]).render(in: detail, on: &c)
        }
    }
}
