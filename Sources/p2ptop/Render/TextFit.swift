#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import TextSafety

/// Text commands fit their width: the terminal's when stdout is one, else `COLUMNS`, else
/// none — in a pipe or a file every line stays whole, as lspci, ps and git leave them. A longer
/// line is wrapped at spaces, its continuation indented under the line's first field
/// (`warning `, `remedy: `, a list's name column) — or, for tree lines, under the tree's own
/// branches. JSON, and the outputs that must stay byte-exact, are left alone (`Fitting.exact`).
enum TextFit {
    /// The width text is fitted to; nil: none (stdout is not a terminal and `COLUMNS` is unset).
    static let width: Int? = {
        var w = winsize()
        if isatty(1) != 0, ioctl(1, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 0 { return Int(w.ws_col) }
        if let c = getenv("COLUMNS"), let n = Int(String(cString: c)), n >= 20 { return n }
        return nil
    }()

    /// How one output is fitted.
    enum Fitting: Sendable {
        /// Wrapped to the width, continuations under the line's first field.
        case wrap
        /// Wrapped, continuations at a column of the command's own (list: under the class name).
        case wrapUnder(column: Int)
        /// Never wrapped: lspci's own formats (`--plain`), XML, a man page, Markdown.
        case exact
    }

    /// One line wrapped to the width, continuations at `column`; whole where there is no width.
    static func wrapped(_ line: String, under column: Int, width: Int? = TextFit.width) -> [String] {
        guard let width else { return [line] }
        return fitLine(line, width: width, column: column)
    }

    /// One line cut to the width with `…` (a listing's one-line summaries); whole where there is no width.
    static func cut(_ line: String, width: Int? = TextFit.width) -> String {
        guard let width, line.count > width else { return line }
        return String(line.prefix(width - 1)) + "…"
    }

    static func visibleWidth<S: StringProtocol>(_ s: S) -> Int { TextWrap.visibleWidth(s) }

    static func fit(_ text: String, _ fitting: Fitting = .wrap, width: Int? = TextFit.width) -> String {
        guard let width, let first = text.first, first != "{" && first != "[" else { return text }
        let column: Int?
        switch fitting {
        case .exact: return text
        case .wrap: column = nil
        case .wrapUnder(let c): column = c
        }
        var out: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            out += fitLine(String(line), width: width, column: column)
        }
        return out.joined(separator: "\n")
    }

    static let treeArt: Set<Character> = ["-", "+", "|", "\\", "[", "]", ":", ".", " ", "│", "├", "└", "┬", "─", "┌"]

    /// Where continuation lines start, and what stands before them.
    static func hang(_ line: String, width: Int, column: Int? = nil) -> (column: Int, prefix: String) {
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

    static func fitLine(_ line: String, width: Int, column own: Int? = nil) -> [String] {
        guard visibleWidth(line) > width else { return [line] }
        let (column, prefix) = hang(line, width: width, column: own)
        return TextWrap.lines(line, width: width, prefix: prefix, column: column)
    }
}
