/// Sizes in binary units, read and written in one place: BAR and window sizes, p2pmem pools,
/// transfer sizes, rlimits.
public enum ByteSize {
    public enum Style: Sendable {
        /// `64M`, `16G`, `4K`, `64.5G`, `8224M`, `117.7M` for 123456789 bytes, `100B`.
        case short
        /// lspci's `[size=…]`: the largest unit that divides the size, else the bare byte count
        /// (`66048M`, `1536`) — for output that must equal lspci's.
        case lspci
        /// For sentences: `64 MiB`, `64.5 GiB`, `100 bytes`.
        case prose
    }

    static let units = ["", "K", "M", "G", "T", "P", "E"]

    public static func text(_ bytes: UInt64, _ style: Style = .short) -> String {
        var v = bytes, i = 0
        while v >= 1024 && v % 1024 == 0 && i < units.count - 1 { v /= 1024; i += 1 }
        // Still 1024 or more of its unit: said in a larger one to a tenth where that is exact
        // (66048M is 64.5G), or where no unit divides it at all (a count of bytes moved); a
        // size a unit divides keeps it rather than be rounded (8224M is not "8G").
        if style != .lspci && v >= 1024 {
            var d = Double(bytes), j = 0
            while d >= 1024 && j < units.count - 1 { d /= 1024; j += 1 }
            let tenths = Int((d * 10).rounded(.down))
            if i == 0 || Double(tenths) == d * 10 {
                let number = "\(tenths / 10)" + (tenths % 10 == 0 ? "" : ".\(tenths % 10)")
                return style == .prose ? number + " " + units[j] + "iB" : number + units[j]
            }
        }
        switch style {
        case .lspci: return "\(v)\(units[i])"
        case .short: return "\(v)\(i == 0 ? "B" : units[i])"
        case .prose: return i == 0 ? "\(v) byte\(v == 1 ? "" : "s")" : "\(v) \(units[i])iB"
        }
    }

    /// `256M`, `1G`, `64K`, `4096`, `2MiB`, `1GB` (binary multiples); nil for anything else,
    /// zero, a negative number or one that overflows.
    public static func parse(_ s: String) -> Int? {
        let multipliers: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var text = s.uppercased()
        if text.hasSuffix("B") { text.removeLast() }
        if text.hasSuffix("I") { text.removeLast() }
        var mult = 1
        if let u = text.last, let m = multipliers[u] { mult = m; text.removeLast() }
        guard let n = Int(text), n > 0, n <= Int.max / mult else { return nil }
        return n * mult
    }
}
