/// A run of text in one style; a line is a list of spans.
public struct Span: Hashable, Sendable {
    public var text: String
    public var style: Style
    public init(_ text: String, _ style: Style = .plain) { self.text = text; self.style = style }
}

public typealias Line = [Span]

public extension Canvas {
    @discardableResult
    mutating func put(_ line: Line, x: Int, y: Int, clip: Rect? = nil) -> Int {
        var cx = x
        for s in line { cx = put(s.text, x: cx, y: y, s.style, clip: clip) }
        return cx
    }
}

/// Anything that draws itself into a rectangle of a canvas.
public protocol Widget {
    func render(in area: Rect, on canvas: inout Canvas)
}

/// A bordered box with a title; `inner` is what is left for content.
public struct Block: Widget {
    public var title: String
    public var style: Style
    public var titleStyle: Style

    public init(title: String = "", style: Style = .plain, titleStyle: Style = Style().bold()) {
        self.title = title; self.style = style; self.titleStyle = titleStyle
    }

    public func render(in a: Rect, on c: inout Canvas) {
        guard a.width >= 2 && a.height >= 2 else { return }
        let h = String(repeating: "─", count: a.width - 2)
        c.put("┌" + h + "┐", x: a.x, y: a.y, style)
        for y in (a.y + 1)..<(a.maxY - 1) {
            c.put("│", x: a.x, y: y, style)
            c.put("│", x: a.maxX - 1, y: y, style)
        }
        c.put("└" + h + "┘", x: a.x, y: a.maxY - 1, style)
        if !title.isEmpty { c.put(" \(title) ", x: a.x + 2, y: a.y, titleStyle, clip: Rect(x: a.x + 1, y: a.y, width: a.width - 2, height: 1)) }
    }
}

/// Lines of styled text, clipped, optionally scrolled.
public struct Paragraph: Widget {
    public var lines: [Line]
    public var offset: Int
    public init(_ lines: [Line], offset: Int = 0) { self.lines = lines; self.offset = offset }

    public func render(in a: Rect, on c: inout Canvas) {
        for (i, line) in lines.dropFirst(max(0, offset)).prefix(a.height).enumerated() {
            c.put(line, x: a.x, y: a.y + i, clip: a)
        }
    }
}

/// Scroll position and selection of a list, kept by the screen across frames.
public struct ListState: Hashable, Sendable {
    public var selected: Int = 0
    public var offset: Int = 0
    public init(selected: Int = 0) { self.selected = selected }

    /// Keeps the selection visible in `height` rows.
    public mutating func scrollIntoView(height: Int, count: Int) {
        selected = max(0, min(selected, count - 1))
        if selected < offset { offset = selected }
        if selected >= offset + height { offset = selected - height + 1 }
        offset = max(0, min(offset, max(0, count - height)))
    }
}

/// A selectable list of lines (the tree and tables are built on it).
public struct ListView {
    public let count: Int
    /// The line of item `i`: only the visible ones are ever made (a 1 200-row tree draws 60).
    public let line: (Int) -> Line
    public var highlight: Style
    public init(_ items: [Line], highlight: Style) { self.count = items.count; self.line = { items[$0] }; self.highlight = highlight }
    public init(count: Int, highlight: Style, line: @escaping (Int) -> Line) { self.count = count; self.line = line; self.highlight = highlight }

    public func render(in a: Rect, on c: inout Canvas, state: inout ListState) {
        state.scrollIntoView(height: a.height, count: count)
        for row in 0..<a.height {
            let i = state.offset + row
            guard i < count else { break }
            c.put(line(i), x: a.x, y: a.y + row, clip: a)
            if i == state.selected { c.restyle(Rect(x: a.x, y: a.y + row, width: a.width, height: 1), highlight) }
        }
        if count > a.height && a.width > 0 {
            // A scroll indicator in the last column.
            let pos = a.y + (a.height - 1) * state.offset / max(1, count - a.height)
            c.put("▐", x: a.maxX - 1, y: pos, highlight)
        }
    }
}

/// A horizontal bar: `ratio` of the width filled, a label centred on it.
public struct Gauge: Widget {
    public var ratio: Double
    public var label: String
    public var filled: Style
    public var empty: Style

    public init(ratio: Double, label: String = "", filled: Style, empty: Style = .plain) {
        self.ratio = ratio; self.label = label; self.filled = filled; self.empty = empty
    }

    public func render(in a: Rect, on c: inout Canvas) {
        guard a.width > 0, a.height > 0 else { return }
        let n = Int((max(0, min(1, ratio)) * Double(a.width)).rounded())
        c.put(String(repeating: "█", count: n), x: a.x, y: a.y, filled, clip: a)
        c.put(String(repeating: "░", count: a.width - n), x: a.x + n, y: a.y, empty, clip: a)
        if !label.isEmpty {
            let x = a.x + max(0, (a.width - label.count) / 2)
            c.put(label, x: x, y: a.y, Style().bold(), clip: a)
        }
    }
}

/// A one-row chart of recent values with block characters.
public struct Sparkline: Widget {
    public var values: [Double]
    public var maximum: Double?
    public var style: Style
    public init(_ values: [Double], maximum: Double? = nil, style: Style = .plain) { self.values = values; self.maximum = maximum; self.style = style }

    public func render(in a: Rect, on c: inout Canvas) {
        let bars: [Character] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
        let shown = values.suffix(a.width)
        let top = maximum ?? (shown.max() ?? 1)
        var x = a.x + a.width - shown.count
        for v in shown {
            let level = top > 0 ? Int((v / top * 8).rounded()) : 0
            c.put(String(bars[max(0, min(8, level))]), x: x, y: a.y, style, clip: a)
            x += 1
        }
    }
}

/// A centred box over the screen (help, confirmations).
public struct Dialog: Widget {
    public var title: String
    public var lines: [Line]
    public var style: Style
    public var border: Style

    /// The first folded line shown (a dialog taller than the screen scrolls).
    public var offset: Int

    public init(title: String, lines: [Line], style: Style = .plain, border: Style = .plain, offset: Int = 0) {
        self.title = title; self.lines = lines; self.style = style; self.border = border; self.offset = offset
    }

    /// Centred, two cells clear of the screen's edges on every side, so that its corners never
    /// sit on the border of the screen below it (`┌┌`).
    public func area(in screen: Rect) -> Rect {
        let w = min(screen.width - 4, max(title.count + 6, (lines.map { $0.reduce(0) { $0 + $1.text.count } }.max() ?? 0) + 4))
        // At least its border and one row: a dialog with no lines still shows.
        let h = min(screen.height - 4, max(3, folded(width: w - 4).count + 2))
        return Rect(x: screen.x + (screen.width - w) / 2, y: screen.y + (screen.height - h) / 2, width: max(0, w), height: max(0, h))
    }

    /// The lines folded at words to the dialog's inner width.
    func folded(width: Int) -> [Line] { lines.flatMap { $0.isEmpty ? [$0] : LineWrap.wrap($0, width: width) } }

    public func render(in screen: Rect, on c: inout Canvas) {
        let a = area(in: screen)
        guard a.width > 4, a.height > 2 else {
            // Too small for a box: its title alone, on the screen's first row.
            c.put(title, x: screen.x, y: screen.y, border, clip: screen)
            return
        }
        c.fill(a, style)
        Block(title: title, style: border).render(in: a, on: &c)
        let all = folded(width: a.width - 4), rows = a.height - 2
        var body = Array(all.dropFirst(max(0, min(offset, all.count - rows))))
        // What does not fit says so on its last row, rather than ending mid-list unannounced.
        if body.count > rows {
            let shown = max(0, rows - 1)
            body = Array(body.prefix(shown)) + [[Span("↓ \(body.count - shown) more (↓ PgDn)", border)]]
        }
        Paragraph(body).render(in: Rect(x: a.x + 2, y: a.y + 1, width: a.width - 4, height: a.height - 2), on: &c)
    }
}

/// A line chart drawn with braille dots: 2×4 dots per cell, so a 40-column chart holds 80
/// samples at 4 levels per row. `reference` draws a dashed line (a link's capacity).
public struct BrailleChart: Widget {
    public var values: [Double]
    public var maximum: Double
    public var reference: Double?
    public var style: Style
    public var referenceStyle: Style

    public init(_ values: [Double], maximum: Double, reference: Double? = nil, style: Style = .plain, referenceStyle: Style = .plain) {
        self.values = values; self.maximum = maximum; self.reference = reference; self.style = style; self.referenceStyle = referenceStyle
    }

    public func render(in a: Rect, on c: inout Canvas) {
        guard a.width > 0, a.height > 0, maximum > 0 else { return }
        let dotsHigh = a.height * 4
        var grid = [[Bool]](repeating: [Bool](repeating: false, count: a.width * 2), count: dotsHigh)
        let samples = Array(values.suffix(a.width * 2))
        let startX = a.width * 2 - samples.count
        for (i, v) in samples.enumerated() {
            let level = Int((max(0, min(1, v / maximum)) * Double(dotsHigh - 1)).rounded())
            for y in 0...level { grid[dotsHigh - 1 - y][startX + i] = true }
        }
        // Braille dot bits: column 0 rows 0-3 = 0x01 0x02 0x04 0x40, column 1 = 0x08 0x10 0x20 0x80.
        let bits = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]]
        let refRow = reference.map { dotsHigh - 1 - Int((max(0, min(1, $0 / maximum)) * Double(dotsHigh - 1)).rounded()) }
        for cy in 0..<a.height {
            for cx in 0..<a.width {
                var code = 0
                for dy in 0..<4 { for dx in 0..<2 where grid[cy * 4 + dy][cx * 2 + dx] { code |= bits[dy][dx] } }
                let onRef = refRow.map { $0 / 4 == cy } ?? false
                if code == 0 && onRef && cx % 2 == 0 {
                    c.put("┄", x: a.x + cx, y: a.y + cy, referenceStyle, clip: a)
                } else if code != 0 {
                    c.put(String(Character(Unicode.Scalar(0x2800 + code)!)), x: a.x + cx, y: a.y + cy, style, clip: a)
                }
            }
        }
    }
}

/// Cells coloured by value (page pin counts): `levels` styles from cold to hot.
public struct Heatmap: Widget {
    public var values: [Int]
    public var levels: [Style]
    public var maximum: Int

    public init(_ values: [Int], maximum: Int, levels: [Style]) { self.values = values; self.maximum = maximum; self.levels = levels }

    public func render(in a: Rect, on c: inout Canvas) {
        guard !levels.isEmpty, a.width > 0 else { return }
        let glyphs: [Character] = ["·", "░", "▒", "▓", "█"]
        for (i, v) in values.prefix(a.width * a.height).enumerated() {
            let level = v <= 0 ? 0 : 1 + min(levels.count - 2, (v - 1) * (levels.count - 1) / max(1, maximum))
            let g = glyphs[min(glyphs.count - 1, level * (glyphs.count - 1) / max(1, levels.count - 1))]
            c.put(String(g), x: a.x + i % a.width, y: a.y + i / a.width, levels[min(levels.count - 1, level)], clip: a)
        }
    }
}
