#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Text commands fit their width: the terminal's, else `COLUMNS`, else 80. A longer line
/// is wrapped at spaces, its continuation indented under the line's first field (`warning `,
/// `remedy: `, a list's name column) — or, for tree lines, under the tree's own branches.
/// JSON, and the `--plain` outputs that reproduce lspci's own format, are left alone.
enum TextFit {
    /// Off for outputs that must be byte-exact (`--plain`) or that are not text.
    nonisolated(unsafe) static var enabled = true
    /// A command's own continuation column (list: under the class name).
    nonisolated(unsafe) static var column: Int?

    static let width: Int = {
        var w = winsize()
        if isatty(1) != 0, ioctl(1, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 0 { return Int(w.ws_col) }
        if let c = getenv("COLUMNS"), let n = Int(String(cString: c)), n >= 20 { return n }
        return 80
    }()

    /// Columns a string takes on a terminal: ANSI escapes take none.
    static func visibleWidth<S: StringProtocol>(_ s: S) -> Int {
        var n = 0, escape = false
        for ch in s {
            if escape { if ch.isLetter { escape = false }; continue }
            if ch == "\u{1b}" { escape = true; continue }
            n += 1
        }
        return n
    }

    static func fit(_ text: String, width: Int = TextFit.width) -> String {
        guard enabled, let first = text.first, first != "{" && first != "[" else { return text }
        var out: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            out += fitLine(String(line), width: width)
        }
        return out.joined(separator: "\n")
    }

    static let treeArt: Set<Character> = ["-", "+", "|", "\\", "[", "]", ":", ".", " ", "│", "├", "└", "┬", "─", "┌"]

    /// Where continuation lines start, and what stands before them.
    static func hang(_ line: String, width: Int) -> (column: Int, prefix: String) {
        let chars = Array(line)
        let leading = chars.prefix { $0 == " " }.count
        // A tree line (lspci -t art): continue under the name, carrying the vertical bars down.
        if let firstArt = chars.first, firstArt == "-" || firstArt == "|" || firstArt == "+" || firstArt == "\\" || firstArt == "│" || firstArt == "├" || firstArt == "└"
            || (leading > 0 && leading < chars.count && "|+\\│├└".contains(chars[leading])) {
            if let gap = (leading..<max(leading, chars.count - 1)).first(where: { chars[$0] == " " && chars[$0 + 1] == " " && $0 > leading }) {
                let column = gap + 2
                var prefix = ""
                for ch in chars.prefix(column) {
                    switch ch {
                    case "|", "+": prefix.append("|")
                    case "│", "├", "┬": prefix.append("│")
                    default: prefix.append(" ")
                    }
                }
                // The branch that leads to this device ends here: nothing below it on this line's own column.
                if column <= width / 2 + 20 { return (column + 2, prefix + "  ") }
            }
        }
        if let c = column, c < width / 2 + 10 { return (c, String(repeating: " ", count: c)) }
        let firstWord = chars.dropFirst(leading).prefix { $0 != " " }.count
        // A label column (`refused    -EREMOTEIO`): continue under the value.
        let gap = chars.dropFirst(leading + firstWord).prefix { $0 == " " }.count
        let column = leading + (firstWord > 0 && firstWord <= 12 ? firstWord + max(1, gap >= 2 ? gap : 1) : 4)
        return (min(column, width / 2), String(repeating: " ", count: min(column, width / 2)))
    }

    static func fitLine(_ line: String, width: Int) -> [String] {
        guard visibleWidth(line) > width else { return [line] }
        let (column, prefix) = hang(line, width: width)
        var lines: [String] = []
        var current = ""
        var currentWidth = 0
        var fresh = false   // just wrapped: the prefix stands alone, no separator needed
        // Words keep their own spacing runs: split on single spaces, keep empty words.
        let words = line.split(separator: " ", omittingEmptySubsequences: false)
        for (i, word) in words.enumerated() {
            let w = visibleWidth(word)
            let sep = i == 0 ? 0 : 1
            if currentWidth + sep + w > width && currentWidth > column && !word.isEmpty {
                lines.append(current)
                if w > width - column {
                    // A word that does not fit after the indent (a kernel parameter to paste)
                    // gets a line of its own, moved left as far as it must; it is never
                    // split — one wider than the terminal stands alone, whole, to be copied.
                    lines.append(String(repeating: " ", count: max(0, width - w)) + word)
                    current = prefix
                    currentWidth = column
                    fresh = true
                    continue
                }
                current = prefix + word
                currentWidth = column + w
                fresh = false
            } else {
                if fresh && word.isEmpty { continue }
                if i > 0 && !fresh { current += " "; currentWidth += 1 }
                current += word
                currentWidth += w
                fresh = false
            }
        }
        if currentWidth > column || lines.isEmpty { lines.append(current) }
        return lines.map { $0.hasSuffix(" ") ? String($0.reversed().drop { $0 == " " }.reversed()) : $0 }
    }
}
