/// A rectangle in cell coordinates. Operations clamp instead of trapping.
public struct Rect: Hashable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = max(0, width); self.height = max(0, height)
    }

    public var isEmpty: Bool { width == 0 || height == 0 }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }

    /// Whether a cell (a mouse click) falls inside.
    public func contains(x px: Int, y py: Int) -> Bool { px >= x && px < maxX && py >= y && py < maxY }

    /// The area inside a one-cell border.
    public var inner: Rect { Rect(x: x + 1, y: y + 1, width: width - 2, height: height - 2) }

    /// Splits off `n` rows at the top (negative: at the bottom): (that part, the rest).
    public func rows(_ n: Int) -> (Rect, Rect) {
        let k = min(height, abs(n))
        if n >= 0 { return (Rect(x: x, y: y, width: width, height: k), Rect(x: x, y: y + k, width: width, height: height - k)) }
        return (Rect(x: x, y: maxY - k, width: width, height: k), Rect(x: x, y: y, width: width, height: height - k))
    }

    /// Splits off `n` columns at the left (negative: at the right).
    public func columns(_ n: Int) -> (Rect, Rect) {
        let k = min(width, abs(n))
        if n >= 0 { return (Rect(x: x, y: y, width: k, height: height), Rect(x: x + k, y: y, width: width - k, height: height)) }
        return (Rect(x: maxX - k, y: y, width: k, height: height), Rect(x: x, y: y, width: width - k, height: height))
    }
}

/// The frame being drawn: a grid of cells. Widgets draw into it; backends show it.
public struct Canvas: Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]
    public var monochrome = false
    public var asciiOnly = false

    public init(width: Int, height: Int) {
        self.width = max(0, width); self.height = max(0, height)
        cells = [Cell](repeating: Cell(), count: self.width * self.height)
    }

    public var area: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { if x >= 0 && y >= 0 && x < width && y < height { cells[y * width + x] = newValue } }
    }

    /// Writes text from (x, y), clipped to `clip` (default: the whole canvas). Returns the next x.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, _ style: Style = .plain, clip: Rect? = nil) -> Int {
        let c = clip ?? area
        guard y >= c.y && y < c.maxY && y < height else { return x }
        var cx = x
        let s = monochrome ? style.monochrome : style
        for ch in TerminalText.visible(text) {
            if cx >= c.maxX || cx >= width { break }
            if cx >= c.x && cx >= 0 { cells[y * width + cx] = Cell(asciiOnly ? Canvas.ascii(ch) : ch, s) }
            cx += 1
        }
        return cx
    }

    public mutating func fill(_ r: Rect, _ style: Style, character: Character = " ") {
        let s = monochrome ? style.monochrome : style
        for y in max(0, r.y)..<min(height, r.maxY) {
            for x in max(0, r.x)..<min(width, r.maxX) { cells[y * width + x] = Cell(character, s) }
        }
    }

    /// Restyles cells without touching characters (selection bars).
    public mutating func restyle(_ r: Rect, _ style: Style) {
        let s = monochrome ? style.monochrome : style
        for y in max(0, r.y)..<min(height, r.maxY) {
            for x in max(0, r.x)..<min(width, r.maxX) { cells[y * width + x].style = s }
        }
    }

    /// Each row as plain text (tests, and `--dump-frame`).
    public var lines: [String] {
        (0..<height).map { y in String(cells[(y * width)..<((y + 1) * width)].map(\.character)) }
    }

    public var text: String { lines.map { $0.trimmingTrailing() }.joined(separator: "\n") }

    static func ascii(_ ch: Character) -> Character {
        switch ch {
        case "─", "━": return "-"
        case "│", "┃": return "|"
        case "┌", "┐", "└", "┘", "├", "┤", "┬", "┴", "┼": return "+"
        case "█", "▉", "▊", "▋", "▌", "▍", "▎", "▏": return "#"
        case "░", "▒", "▓": return "."
        case "▲", "▴": return "^"
        case "▼", "▾": return "v"
        case "▶", "▸", "→": return ">"
        case "◀", "←": return "<"
        case "●", "◆": return "*"
        case "○": return "o"
        case "✓": return "+"
        case "✗": return "x"
        case "…": return "~"
        default:
            if let a = ch.asciiValue { return Character(Unicode.Scalar(a)) }
            if ("\u{2800}"..."\u{28ff}").contains(ch) { return ":" }   // braille
            return "?"
        }
    }
}

extension String {
    func trimmingTrailing() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
