import P2PDMA
import PCISources
import PCITopology

enum VerdictJSON {
    /// Pre-rendered JSON fragments per device, so that a matrix of 260 000 pairs is written
    /// straight into one string instead of through a tree of JSON values.
    struct Fragments {
        var bdf: [BDF: String] = [:]
        var alias: [BDF: String] = [:]
        var text: [String: String] = [:]
        var reasons: [Int: String] = [:]
        var bridges: [HostBridge: String] = [:]
        /// NVLinks between GPU pairs (nvidia-smi's NV#), both orders.
        var nvlinks: [BDF: [BDF: Int]] = [:]

        init(_ t: Topology) {
            for l in t.nvlinks where l.from != l.target {
                if let n = t.nvlinkCount(l.from, l.target) { nvlinks[l.from, default: [:]][l.target] = n; nvlinks[l.target, default: [:]][l.from] = n }
            }
            for d in t.devices {
                bdf[d.bdf] = JSON.string(d.bdf.description).serialized()
                alias[d.bdf] = t.alias(d.bdf).map { JSON.string($0).serialized() } ?? "null"
            }
        }

        mutating func quoted(_ s: String) -> String {
            if let q = text[s] { return q }
            let q = JSON.string(s).serialized()
            text[s] = q
            return q
        }

        mutating func reason(_ v: Verdict) -> String {
            if v.reasonID < 0 { return JSON.string(v.reason).serialized() }
            if let q = reasons[v.reasonID] { return q }
            let q = JSON.string(v.reason).serialized()
            reasons[v.reasonID] = q
            return q
        }

        mutating func bridge(_ h: HostBridge) -> String {
            if let q = bridges[h] { return q }
            let q = JSON.string(h.description).serialized()
            bridges[h] = q
            return q
        }

        func list(_ bdfs: [BDF]) -> String { "[" + bdfs.map { bdf[$0] ?? "null" }.joined(separator: ",") + "]" }
    }

    /// The same object as `pair(_:_:)`, appended as compact JSON text.
    static func append(_ v: Verdict, to out: inout String, _ f: inout Fragments) {
        out += "{\"provider\":"; out += f.bdf[v.provider]!
        out += ",\"client\":"; out += f.bdf[v.client]!
        out += ",\"provider_alias\":"; out += f.alias[v.provider]!
        out += ",\"client_alias\":"; out += f.alias[v.client]!
        out += ",\"map_type\":\""; out += v.mapType.rawValue
        out += "\",\"distance\":"; out += String(v.kernelDistance)
        out += ",\"acs_redirect\":"; out += v.acsRedirect.isEmpty ? "[]" : f.list(v.acsRedirect)
        out += ",\"acs_unknown\":"; out += v.acsUnknown.isEmpty ? "[]" : f.list(v.acsUnknown)
        out += v.commonUpstream == nil ? ",\"common_upstream\":false" : ",\"common_upstream\":true"
        out += ",\"common_upstream_bdf\":"; out += v.commonUpstream.map { f.bdf[$0] ?? "null" } ?? "null"
        out += ",\"path_class\":\""; out += v.pathClass.rawValue
        out += "\",\"host_bridges\":["
        for (i, h) in v.hostBridges.enumerated() { if i > 0 { out += "," }; out += f.bridge(h) }
        out += "],\"reason\":"; out += f.reason(v)
        out += ",\"nvlinks\":"; out += f.nvlinks[v.provider]?[v.client].map { String($0) } ?? "null"
        out += "}"
    }

    static func pair(_ v: Verdict, _ t: Topology) -> JSON {
        .object([
            ("provider", .string(v.provider.description)),
            ("client", .string(v.client.description)),
            ("provider_alias", t.alias(v.provider).map(JSON.string) ?? .null),
            ("client_alias", t.alias(v.client).map(JSON.string) ?? .null),
            ("map_type", .string(v.mapType.rawValue)),
            ("distance", .int(Int64(v.kernelDistance))),
            ("acs_redirect", .array(v.acsRedirect.map { .string($0.description) })),
            ("acs_unknown", .array(v.acsUnknown.map { .string($0.description) })),
            ("common_upstream", .bool(v.commonUpstream != nil)),
            ("common_upstream_bdf", v.commonUpstream.map { .string($0.description) } ?? .null),
            ("path_class", .string(v.pathClass.rawValue)),
            ("host_bridges", .array(v.hostBridges.map { .string($0.description) })),
            ("reason", .string(v.reason)),
            ("nvlinks", t.nvlinkCount(v.provider, v.client).map { .int(Int64($0)) } ?? .null),
        ])
    }
}

extension MapType {
    /// One-letter mark for grids: B bus address, H via host bridge, - refused.
    var mark: String {
        switch self {
        case .busAddr: return "B"
        case .thruHostBridge: return "H"
        case .notSupported: return "-"
        }
    }

    func paint(_ s: String, _ style: Style) -> String {
        switch self {
        case .busAddr: return style.good(s)
        case .thruHostBridge: return style.warn(s)
        case .notSupported: return style.bad(s)
        }
    }
}

#if canImport(Glibc)
@preconcurrency import Glibc
#endif


