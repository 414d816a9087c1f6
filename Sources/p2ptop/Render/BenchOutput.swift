import PCITopology
import PCISources
import Reports

/// The shape every benchmark with a list of figures prints: `p2ptop.bench/1` with its
/// `results`, or one line per figure.
enum BenchOutput {
    /// `p2ptop.bench/1` with a `results` list: each figure, its baseline and their ratio.
    static func json(_ bench: String, _ ms: [Measurement], extra: [(String, JSON)] = []) -> JSON {
        JSON.object([("schema", .string("p2ptop.bench/1")), ("bench", .string(bench))] + extra + [
            ("results", .array(ms.map { m in
                .object([("name", .string(m.name)), ("value", .double(m.value)), ("unit", .string(m.unit)),
                         ("baseline", m.baseline.map(JSON.double) ?? .null), ("ratio", m.ratio.map(JSON.double) ?? .null)])
            }))])
    }

    /// One line per figure, with its baseline and the ratio where there is one.
    static func text(_ ms: [Measurement]) -> String {
        ms.map { (m: Measurement) -> String in
            var line = m.name.padding(26) + format2(m.value) + " " + m.unit
            if let b = m.baseline { line += "   baseline \(format2(b)) \(m.unit)   ratio \(format2(m.value / b))" }
            return line
        }.joined(separator: "\n")
    }
}
