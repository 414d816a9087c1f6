import TextSafety

/// The one sanitiser at the output edge. Text from outside — files, sysfs, pci.ids, NCCL,
/// hwloc, snapshots, scenarios, recordings — may hold characters a terminal obeys instead of
/// showing: C0 controls (ESC starts a sequence that can set the window title, clear the
/// screen or write the clipboard with OSC 52), DEL, C1 controls (U+009B is a one-character
/// CSI) and the bidirectional embeddings, overrides and isolates that reorder what is shown.
/// Each is shown as a visible escape (`\x1b`, `\u202e`) where text meets the terminal: the
/// text renderer (`emit`, diagnostics) and the TUI canvas. JSON escapes the same characters.
public enum TerminalText {
    /// A character the terminal would act on, or that reorders the line (`TextSafety`).
    @inline(__always)
    public static func isUnsafe(_ v: UInt32, keepLines: Bool = false) -> Bool { TextSafety.isUnsafe(v, keepLines: keepLines) }

    /// `\x1b` for the ASCII controls, `\u202e` for the rest.
    public static func escape(_ v: UInt32) -> String {
        let hex = String(v, radix: 16)
        return v < 0x80 ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
                        : "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// The SGR codes p2ptop's own text styling writes (bold, dim, reset, red, green, yellow,
    /// cyan): with `keepStyle`, exactly `ESC [ code m` for one of these passes; every other
    /// escape is shown. A hostile string can at most recolour its own text — no cursor moves,
    /// no clearing, no title, no clipboard.
    static let styleCodes: Set<String> = ["0", "1", "2", "31", "32", "33", "36"]

    /// `s` with every unsafe character shown as its escape. Costs a scan when there is none.
    public static func visible(_ s: String, keepLines: Bool = false, keepStyle: Bool = false) -> String {
        if !TextSafety.containsUnsafe(s, keepLines: keepLines) { return s }
        var out = String.UnicodeScalarView()
        let scalars = Array(s.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let v = scalars[i].value
            if v == 0x1b && keepStyle, let end = styleEnd(scalars, from: i) {
                out.append(contentsOf: scalars[i...end])
                i = end + 1
                continue
            }
            if isUnsafe(v, keepLines: keepLines) { out.append(contentsOf: escape(v).unicodeScalars) } else { out.append(scalars[i]) }
            i += 1
        }
        return String(out)
    }

    /// Where `ESC [ code m` for one of `styleCodes` ends, if one starts at `i`.
    static func styleEnd(_ s: [Unicode.Scalar], from i: Int) -> Int? {
        guard i + 2 < s.count, s[i + 1] == "[" else { return nil }
        var j = i + 2
        var code = ""
        while j < s.count, j < i + 6, ("0"..."9").contains(s[j]) { code.unicodeScalars.append(s[j]); j += 1 }
        guard j < s.count, s[j] == "m", styleCodes.contains(code) else { return nil }
        return j
    }
}
