/// A terminal colour: the terminal's default, one of the 16 ANSI colours, or a 256-colour index.
public enum Color: Hashable, Sendable {
    case `default`
    case indexed(UInt8)

    public static let black = Color.indexed(0), red = Color.indexed(1), green = Color.indexed(2), yellow = Color.indexed(3)
    public static let blue = Color.indexed(4), magenta = Color.indexed(5), cyan = Color.indexed(6), white = Color.indexed(7)
    public static let brightBlack = Color.indexed(8), brightRed = Color.indexed(9), brightGreen = Color.indexed(10)
    public static let brightYellow = Color.indexed(11), brightBlue = Color.indexed(12), brightCyan = Color.indexed(14)
    public static let brightWhite = Color.indexed(15)

    /// The nearest xterm-256 colour to an RGB value (the 6×6×6 cube or the grey ramp).
    public static func rgb(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Color {
        func level(_ v: UInt8) -> Int { v < 48 ? 0 : v < 115 ? 1 : Int((Int(v) - 35) / 40) }
        let (lr, lg, lb) = (level(r), level(g), level(b))
        let cube = 16 + 36 * lr + 6 * lg + lb
        let steps = [0, 95, 135, 175, 215, 255]
        let cubeDist = sq(steps[lr] - Int(r)) + sq(steps[lg] - Int(g)) + sq(steps[lb] - Int(b))
        let avg = (Int(r) + Int(g) + Int(b)) / 3
        let greyIndex = max(0, min(23, (avg - 3) / 10))
        let grey = 8 + greyIndex * 10
        let greyDist = sq(grey - Int(r)) + sq(grey - Int(g)) + sq(grey - Int(b))
        return .indexed(UInt8(greyDist < cubeDist ? 232 + greyIndex : cube))
    }

    private static func sq(_ v: Int) -> Int { v * v }
}

public struct Attributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = Attributes(rawValue: 1), dim = Attributes(rawValue: 2)
    public static let reverse = Attributes(rawValue: 4), underline = Attributes(rawValue: 8)
}

public struct Style: Hashable, Sendable {
    public var fg: Color
    public var bg: Color
    public var attributes: Attributes

    public init(fg: Color = .default, bg: Color = .default, _ attributes: Attributes = []) {
        self.fg = fg; self.bg = bg; self.attributes = attributes
    }

    public static let plain = Style()

    public func bold() -> Style { var s = self; s.attributes.insert(.bold); return s }
    public func reversed() -> Style { var s = self; s.attributes.insert(.reverse); return s }

    /// The same style without colours (NO_COLOR): attributes carry the meaning.
    public var monochrome: Style { Style(fg: .default, bg: .default, attributes) }
}

/// One screen position.
public struct Cell: Hashable, Sendable {
    public var character: Character
    public var style: Style
    public init(_ character: Character = " ", _ style: Style = .plain) { self.character = character; self.style = style }
}
