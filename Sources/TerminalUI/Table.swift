/// What a table cell sorts by: numbers numerically (unknown last), text as text.
public enum SortKey: Comparable, Sendable {
    case number(Double)
    case text(String)
    case unknown

    public static func < (a: SortKey, b: SortKey) -> Bool {
        switch (a, b) {
        case let (.number(x), .number(y)): return x < y
        case let (.text(x), .text(y)): return x < y
        case (.number, .text): return true
        case (.unknown, _), (_, .unknown): return false
        default: return false
        }
    }
}

public struct TableColumn: Sendable {
    public var title: String
    public var width: Int
    /// Numbers sort largest first on the first `s` (htop's habit); text A→Z.
    public var numeric: Bool
    public init(_ title: String, width: Int, numeric: Bool = false) { self.title = title; self.width = width; self.numeric = numeric }
}

public struct TableRow: Sendable {
    public var cells: [Span]
    public var keys: [SortKey]
    public init(cells: [Span], keys: [SortKey]) { self.cells = cells; self.keys = keys }
}

/// A table's selection, scroll, cursor column (←/→) and sort (`s` sorts by the cursor's column,
/// again reverses it), kept by the screen across frames.
public struct TableState: Sendable {
    public var list = ListState()
    public var cursorColumn = 0
    public var sortColumn: Int?
    public var descending = false
    public init() {}

    /// `s`: sort by the cursor's column; on the sorted column, reverse.
    public mutating func sortByCursor(_ columns: [TableColumn]) {
        if sortColumn == cursorColumn { descending.toggle() } else {
            sortColumn = cursorColumn
            descending = columns.indices.contains(cursorColumn) && columns[cursorColumn].numeric
        }
    }

    /// The rows' display order: stable, ties keep their given order.
    public func order(_ rows: [TableRow]) -> [Int] {
        guard let col = sortColumn else { return Array(rows.indices) }
        func key(_ i: Int) -> SortKey { rows[i].keys.indices.contains(col) ? rows[i].keys[col] : .unknown }
        return rows.indices.sorted { i, j in
            let a = key(i), b = key(j)
            if case .unknown = a { return false }
            if case .unknown = b { return true }
            if a == b { return i < j }
            return descending ? b < a : a < b
        }
    }

    /// htop's table keys over `count` rows: ←/→ (h/l) the cursor's column, `s` sorts by it,
    /// ↑/↓ (k/j), PgUp/PgDn the selection. False for any other key.
    @discardableResult
    public mutating func handle(_ key: Key, columns: [TableColumn], count: Int) -> Bool {
        switch key {
        case .left, .character("h"): cursorColumn = max(0, cursorColumn - 1)
        case .right, .character("l"): cursorColumn = min(columns.count - 1, cursorColumn + 1)
        case .character("s"): sortByCursor(columns)
        case .up, .character("k"): list.selected -= 1
        case .down, .character("j"): list.selected += 1
        case .pageUp: list.selected -= 10
        case .pageDown: list.selected += 10
        default: return false
        }
        list.selected = max(0, min(max(0, count - 1), list.selected))
        return true
    }

    /// A mouse event on a table drawn in `area`: a click on the header sorts by that column, on
    /// a row selects it; the wheel moves the selection.
    public mutating func click(x: Int, y: Int, button: Int, area: Rect, columns: [TableColumn], count: Int) {
        switch button {
        case 4: list.selected -= 3
        case 5: list.selected += 3
        default:
            guard area.contains(x: x, y: y) else { return }
            if y == area.y, let col = Self.column(at: x, from: area.x, columns) {
                cursorColumn = col
                sortByCursor(columns)
            } else if y > area.y {
                list.selected = list.offset + (y - area.y - 1)
            }
        }
        list.selected = max(0, min(max(0, count - 1), list.selected))
    }

    /// The column at a screen x in a table drawn from `x0`, for clicks on the header.
    public static func column(at x: Int, from x0: Int, _ columns: [TableColumn]) -> Int? {
        var left = x0
        for (i, c) in columns.enumerated() {
            if x >= left && x < left + c.width + 1 { return i }
            left += c.width + 1
        }
        return nil
    }
}

/// A header line (the cursor's column underlined, the sort column with ▲/▼) over sortable rows.
public struct Table {
    public var columns: [TableColumn]
    public var rows: [TableRow]
    public var header: Style
    public var highlight: Style
    public init(columns: [TableColumn], rows: [TableRow], header: Style, highlight: Style) {
        self.columns = columns; self.rows = rows; self.header = header; self.highlight = highlight
    }

    public func render(in a: Rect, on c: inout Canvas, state: inout TableState) {
        guard a.height > 0 else { return }
        state.cursorColumn = max(0, min(columns.count - 1, state.cursorColumn))
        var x = a.x
        for (i, col) in columns.enumerated() {
            let mark = state.sortColumn == i ? (state.descending ? "▼" : "▲") : ""
            var style = header
            if i == state.cursorColumn { style.attributes.insert(.underline) }
            c.put(String((col.title + mark).prefix(col.width)), x: x, y: a.y, style, clip: a)
            x += col.width + 1
        }
        let order = state.order(rows)
        let body = Rect(x: a.x, y: a.y + 1, width: a.width, height: a.height - 1)
        ListView(count: order.count, highlight: highlight) { k in
            var line: Line = []
            for (i, col) in columns.enumerated() {
                let cell = rows[order[k]].cells.indices.contains(i) ? rows[order[k]].cells[i] : Span("")
                line.append(Span(String(cell.text.prefix(col.width)).padRight(col.width + 1), cell.style))
            }
            return line
        }.render(in: body, on: &c, state: &state.list)
    }
}

extension String {
    func padRight(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
