/// Colours by role. Loaded from `themes/*.toml` (or a user's file); every key is checked.
public struct Theme: Hashable, Sendable {
    public var name: String
    public var text = Style()
    public var dim = Style(fg: .brightBlack)
    public var accent = Style(fg: .cyan)
    public var good = Style(fg: .green)
    public var warn = Style(fg: .yellow)
    public var bad = Style(fg: .red)
    public var border = Style(fg: .blue)
    public var title = Style().bold()
    public var selection = Style(fg: .black, bg: .cyan)
    public var header = Style(fg: .black, bg: .blue)

    public init(name: String) { self.name = name }

    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var key: String?
        public var message: String
        public var description: String { "\(file):\(line): " + (key.map { "key '\($0)': " } ?? "") + message }
    }

    static let colorKeys = ["text", "dim", "accent", "good", "warn", "bad", "border", "title",
                            "selection_fg", "selection_bg", "header_fg", "header_bg"]

    /// Parses the theme format (a TOML subset: `[colors]` and `[options]` tables of
    /// `key = "value"`), naming file, line and key on any error.
    public static func parse(_ text: String, name: String, file: String) throws(LoadError) -> Theme {
        var t = Theme(name: name)
        var section = ""
        var colors: [String: Color] = [:]
        var boldTitles = true
        var settings = 0
        for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let n = i + 1
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#"), !line[..<hash].contains("\"") { line = line[..<hash] }
            let trimmed = line.trimmingSpaces()
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]") else { throw LoadError(file: file, line: n, key: nil, message: "expected a table header like [colors]") }
                section = String(trimmed.dropFirst().dropLast())
                guard section == "colors" || section == "options" else {
                    throw LoadError(file: file, line: n, key: nil, message: "unknown table [\(section)]: expected [colors] or [options]")
                }
                continue
            }
            guard let eq = trimmed.firstIndex(of: "=") else { throw LoadError(file: file, line: n, key: nil, message: "expected key = value") }
            let key = String(trimmed[..<eq]).trimmingSpaces()
            let value = String(trimmed[trimmed.index(after: eq)...]).trimmingSpaces()
            switch section {
            case "colors":
                guard colorKeys.contains(key) else {
                    throw LoadError(file: file, line: n, key: key, message: "unknown colour key: expected one of \(colorKeys.joined(separator: ", "))")
                }
                guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\""), let c = parseColor(String(value.dropFirst().dropLast())) else {
                    throw LoadError(file: file, line: n, key: key, message: "bad colour \(value): expected \"default\", a name (red, bright-blue…), 0–255, or \"#rrggbb\"")
                }
                colors[key] = c
            case "options":
                guard key == "bold_titles" else { throw LoadError(file: file, line: n, key: key, message: "unknown option: expected bold_titles") }
                guard value == "true" || value == "false" else { throw LoadError(file: file, line: n, key: key, message: "expected true or false") }
                boldTitles = value == "true"
                settings += 1
            default:
                throw LoadError(file: file, line: n, key: key, message: "key outside a table: start with [colors]")
            }
        }
        // An empty file is a mistake (a truncated copy, the wrong path), not the default theme.
        guard !colors.isEmpty || settings > 0 else {
            throw LoadError(file: file, line: 1, key: nil, message: "no settings: expected a [colors] table with keys like text = \"white\"")
        }
        func fg(_ k: String, _ d: Style) -> Style { colors[k].map { Style(fg: $0) } ?? d }
        t.text = fg("text", t.text); t.dim = fg("dim", t.dim); t.accent = fg("accent", t.accent)
        t.good = fg("good", t.good); t.warn = fg("warn", t.warn); t.bad = fg("bad", t.bad); t.border = fg("border", t.border)
        t.title = fg("title", Style()); if boldTitles { t.title = t.title.bold() }
        t.selection = Style(fg: colors["selection_fg"] ?? t.selection.fg, bg: colors["selection_bg"] ?? t.selection.bg)
        t.header = Style(fg: colors["header_fg"] ?? t.header.fg, bg: colors["header_bg"] ?? t.header.bg)
        if t.selection.bg == .default { t.selection.attributes.insert(.reverse) }
        if t.header.bg == .default { t.header.attributes.insert(.reverse) }
        return t
    }

    static let names: [String: UInt8] = ["black": 0, "red": 1, "green": 2, "yellow": 3, "blue": 4, "magenta": 5, "cyan": 6, "white": 7,
                                         "bright-black": 8, "grey": 8, "gray": 8, "bright-red": 9, "bright-green": 10, "bright-yellow": 11,
                                         "bright-blue": 12, "bright-magenta": 13, "bright-cyan": 14, "bright-white": 15]

    static func parseColor(_ s: String) -> Color? {
        if s == "default" { return .default }
        if let i = names[s] { return .indexed(i) }
        if let n = UInt8(s) { return .indexed(n) }
        if s.hasPrefix("#"), s.count == 7, let v = UInt32(s.dropFirst(), radix: 16) {
            return .rgb(UInt8(v >> 16), UInt8((v >> 8) & 0xff), UInt8(v & 0xff))
        }
        return nil
    }

    /// The same theme with every colour removed (NO_COLOR, or the mono theme).
    public var monochrome: Theme {
        var t = self
        for kp in [\Theme.text, \.dim, \.accent, \.good, \.warn, \.bad, \.border, \.title] { t[keyPath: kp] = t[keyPath: kp].monochrome }
        t.selection = Style(.reverse); t.header = Style(.reverse)
        t.dim.attributes.insert(.dim); t.bad.attributes.insert(.bold); t.warn.attributes.insert(.underline)
        return t
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}

extension Theme {
    /// A bundled theme by name, or a theme file by path.
    public static func load(_ nameOrFile: String, readFile: (String) -> String?) throws(LoadError) -> Theme {
        if let text = BuiltinThemes.text(nameOrFile) { return try parse(text, name: nameOrFile, file: "themes/\(nameOrFile).toml") }
        guard let text = readFile(nameOrFile) else {
            throw LoadError(file: nameOrFile, line: 0, key: nil,
                            message: "no such theme: expected \(BuiltinThemes.names.joined(separator: ", ")) or a readable .toml file")
        }
        return try parse(text, name: nameOrFile, file: nameOrFile)
    }
}
