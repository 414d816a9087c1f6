import PCITopology

/// `64M`, `16G`, `256K`, `4096` — binary units, exact when the size is a power of two.
func humanSize(_ bytes: UInt64) -> String {
    let units = ["", "K", "M", "G", "T", "P", "E"]
    var v = bytes
    var i = 0
    while v >= 1024 && v % 1024 == 0 && i < units.count - 1 { v /= 1024; i += 1 }
    if i == 0 && bytes >= 1024 {
        var d = Double(bytes); var j = 0
        while d >= 1024 && j < units.count - 1 { d /= 1024; j += 1 }
        return String(Int(d * 10) / 10) + "." + String(Int(d * 10) % 10) + units[j]
    }
    return "\(v)\(units[i])"
}

extension Device {
    /// The link as `16GT/s x16`, with the capability when trained below it.
    func linkSummary(style: Style, in t: Topology) -> String? {
        guard let l = t.link(of: self)?.link else {
            if capabilities.coverage == .unreadable { return style.dim("link unknown (\(t.source.configUnreadableShort))") }
            return nil
        }
        guard let s = l.status else { return l.capability.text }
        if l.isDown { return style.dim("link down (cap \(l.capability.text))") }
        if let j = t.linkJudgement(self.bdf), j.isDowntrained { return style.warn("\(s.text) (downtrained from \(j.capability.text))") }
        if let j = t.linkJudgement(self.bdf), j.limitedByPartner { return s.text + style.dim(" (card \(j.device.text), slot \(j.partner!.text))") }
        return s.text
    }
}

/// Word-wraps `text` to `width` columns; continuation lines are indented by `hangingIndent`.
func wrap(_ text: String, width: Int, hangingIndent: Int) -> [String] {
    var lines: [String] = []
    var current = ""
    for word in text.split(separator: " ", omittingEmptySubsequences: false) {
        let candidate = current.isEmpty ? String(word) : current + " " + word
        if candidate.count > width && !current.isEmpty {
            lines.append(current)
            current = String(repeating: " ", count: hangingIndent) + word
        } else {
            current = candidate
        }
    }
    if !current.isEmpty { lines.append(current) }
    return lines
}
