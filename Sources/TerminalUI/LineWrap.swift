/// Styled lines folded at word boundaries to a width, continuation lines indented, so that a
/// dialog at 80×24 never cuts a word ("wheel sc"). A word longer than the width is split.
public enum LineWrap {
    public static func wrap(_ line: Line, width: Int, indent: Int = 2) -> [Line] {
        guard width > indent + 8 else { return [line] }
        var out: [Line] = [[]]
        var column = 0
        func newLine() { out.append([Span(String(repeating: " ", count: indent))]); column = indent }
        for span in line {
            for token in tokens(span.text) {
                let isSpace = token.first == " "
                if isSpace {
                    // A space that would end a line, or start a continuation, is dropped.
                    if column == 0 && out.count > 1 || column == indent && out.count > 1 { continue }
                    if column + token.count > width { newLine(); continue }
                    out[out.count - 1].append(Span(token, span.style)); column += token.count
                    continue
                }
                var word = Substring(token)
                while !word.isEmpty {
                    if column + word.count > width && column > (out.count > 1 ? indent : 0) { newLine() }
                    let room = max(1, width - column)
                    let piece = word.prefix(room)
                    out[out.count - 1].append(Span(String(piece), span.style))
                    column += piece.count
                    word = word.dropFirst(piece.count)
                    if !word.isEmpty { newLine() }
                }
            }
        }
        // Spaces left at a line's end are not drawn.
        return out.map { l in
            var l = l
            while let last = l.last, last.text.allSatisfy({ $0 == " " }) { l.removeLast() }
            return l
        }
    }

    /// Runs of spaces and runs of anything else, in order.
    static func tokens(_ s: String) -> [String] {
        var out: [String] = [], current = "", inSpace = false
        for ch in s {
            let space = ch == " "
            if !current.isEmpty && space != inSpace { out.append(current); current = "" }
            current.append(ch); inSpace = space
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
