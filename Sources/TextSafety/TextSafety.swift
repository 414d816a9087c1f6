/// Which characters a terminal acts on instead of showing: the one definition that the
/// output edge (`TerminalUI.TerminalText`), JSON and the NCCL export all escape.
public enum TextSafety {
    /// C0 controls (tab and newline aside when `keepLines`), DEL, C1, and the marks that
    /// reorder a line: U+061C, U+200E/F, U+2028–U+202E, U+2066–U+2069.
    @inline(__always)
    public static func isUnsafe(_ v: UInt32, keepLines: Bool = false) -> Bool {
        if v < 0x20 { return !(keepLines && (v == 0x0a || v == 0x09)) }
        if v < 0x7f { return false }
        if v <= 0x9f { return true }
        if v < 0x061c { return false }
        return v == 0x061c || v == 0x200e || v == 0x200f || (0x2028...0x202e).contains(v) || (0x2066...0x2069).contains(v)
    }

    /// Whether UTF-8 text holds any such character, without decoding it: exact, byte by byte
    /// (C2 80–9F for C1, D8 9C, E2 80 8E/8F/A8–AE, E2 81 A6–A9), so ordinary text with dashes,
    /// ellipses and box drawing is never taken for unsafe.
    public static func containsUnsafe(_ s: String, keepLines: Bool = false) -> Bool {
        var b1: UInt8 = 0, b2: UInt8 = 0
        for b in s.utf8 {
            if b < 0x20 { if !(keepLines && (b == 0x0a || b == 0x09)) { return true } }
            else if b == 0x7f { return true }
            else if b1 == 0xc2 && b <= 0x9f { return true }
            else if b1 == 0xd8 && b == 0x9c { return true }
            else if b2 == 0xe2 && b1 == 0x80 && (b == 0x8e || b == 0x8f || (0xa8...0xae).contains(b)) { return true }
            else if b2 == 0xe2 && b1 == 0x81 && (0xa6...0xa9).contains(b) { return true }
            b2 = b1; b1 = b
        }
        return false
    }
}
