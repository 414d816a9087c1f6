/// OpenMetrics text for node_exporter's textfile collector: one gauge per value, labels from
/// the `name{label}` keys, `# EOF` at the end.
public enum OpenMetrics {
    public static func render(_ readings: [String: Reading]) -> String {
        var families: [String: [(String, Double)]] = [:]
        for (sampler, r) in readings where r.stale == nil {
            for (key, value) in r.values {
                var metric = key, label = ""
                if let open = key.firstIndex(of: "{"), key.hasSuffix("}") {
                    metric = String(key[..<open])
                    label = String(key[key.index(after: open)..<key.index(before: key.endIndex)])
                }
                let name = "p2ptop_\(sampler)_\(metric)".map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" }
                families[String(name), default: []].append((label, value))
            }
        }
        var out = ""
        for name in families.keys.sorted() {
            out += "# TYPE \(name) gauge\n"
            for (label, value) in families[name]!.sorted(by: { $0.0 < $1.0 }) {
                let l = label.isEmpty ? "" : "{id=\"\(label.replacingBackslashesAndQuotes())\"}"
                out += "\(name)\(l) \(format(value))\n"
            }
        }
        return out + "# EOF\n"
    }

    static func format(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }
}

extension String {
    func replacingBackslashesAndQuotes() -> String {
        var out = ""
        for ch in self {
            if ch == "\\" || ch == "\"" { out.append("\\") }
            out.append(ch)
        }
        return out
    }
}
