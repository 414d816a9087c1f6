/// The one word wrapper: the CLI's fitted text (`TextFit`) and the explorer's dialogs and
/// captions both break lines here.
public enum TextWrap {
    /// Columns a string takes on a terminal: ANSI escapes take none.
    public static func visibleWidth<S: StringProtocol>(_ s: S) -> Int {
        var n = 0, escape = false
        for ch in s {
            if escape { if ch.isLetter { escape = false }; continue }
            if ch == "\u{1b}" { escape = true; continue }
            n += 1
        }
        return n
    }

    /// `line` in lines of at most `width` columns, broken at single spaces (runs of spaces
    /// inside a line are kept); each continuation starts with `prefix`, which is `column`
    /// columns wide. A word that does not fit after the prefix gets a line of its own, moved
    /// left as far as it must: it is never split (a kernel parameter to paste stays whole, even
    /// one wider than the line). Trailing spaces are dropped.
    public static func lines(_ line: String, width: Int, prefix: String = "", column: Int = 0) -> [String] {
        guard visibleWidth(line) > width else { return [line] }
        var lines: [String] = []
        var current = ""
        var currentWidth = 0
        var fresh = false   // just wrapped: the prefix stands alone, no separator needed
        let words = line.split(separator: " ", omittingEmptySubsequences: false)
        for (i, word) in words.enumerated() {
            let w = visibleWidth(word)
            let sep = i == 0 ? 0 : 1
            if currentWidth + sep + w > width && currentWidth > column && !word.isEmpty {
                lines.append(current)
                if w > width - column {
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

    /// Prose in lines of at most `width` columns (at least 10), spaces collapsed: captions,
    /// explanations, a dialog's text.
    public static func paragraph(_ text: String, width: Int) -> [String] {
        let words = text.split(separator: " ").joined(separator: " ")
        return words.isEmpty ? [] : lines(words, width: max(10, width))
    }
}
