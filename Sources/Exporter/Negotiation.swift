import Telemetry

/// Which exposition format a scraper asked for, from its `Accept` header: OpenMetrics 1.0.0
/// when it accepts `application/openmetrics-text` (version 1.0.0, or 0.0.1, which Prometheus
/// sends for the same text, or none) at least as much as the Prometheus text format; else the
/// text format 0.0.4, which every scraper reads. Pure.
public enum Negotiation {
    public static let openMetricsType = "application/openmetrics-text; version=1.0.0; charset=utf-8"
    public static let prometheusType = "text/plain; version=0.0.4; charset=utf-8"

    public static func contentType(_ f: OpenMetrics.Format) -> String { f == .openMetrics ? openMetricsType : prometheusType }

    /// One media range of an Accept header: type/subtype, its parameters and q (1 when absent).
    struct Range {
        var type: String
        var parameters: [String: String]
        var q: Double
    }

    static func ranges(_ accept: String) -> [Range] {
        accept.split(separator: ",").prefix(64).compactMap { part in
            let fields = part.split(separator: ";").map { $0.trimmingSpaces }
            guard let type = fields.first, !type.isEmpty else { return nil }
            var parameters: [String: String] = [:], q = 1.0
            for f in fields.dropFirst() {
                let kv = f.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces }
                guard kv.count == 2 else { continue }
                let key = kv[0].lowercased(), value = kv[1].trimmingQuotes
                if key == "q" { q = Double(value).map { min(max($0, 0), 1) } ?? 0 } else { parameters[key] = value }
            }
            return Range(type: type.lowercased(), parameters: parameters, q: q)
        }
    }

    public static func format(accept: String?) -> OpenMetrics.Format {
        guard let accept else { return .prometheus }
        var om = 0.0, text = 0.0
        for r in ranges(accept) {
            switch r.type {
            case "application/openmetrics-text":
                if [nil, "1.0.0", "0.0.1"].contains(r.parameters["version"]) { om = max(om, r.q) }
            case "text/plain":
                if [nil, "0.0.4"].contains(r.parameters["version"]) { text = max(text, r.q) }
            case "*/*", "text/*":
                text = max(text, r.q)
            default: continue
            }
        }
        return om > 0 && om >= text ? .openMetrics : .prometheus
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

extension String {
    var trimmingQuotes: String {
        count >= 2 && hasPrefix("\"") && hasSuffix("\"") ? String(dropFirst().dropLast()) : self
    }
}
