import P2PDMA
import PCISources
import PCITopology

enum VerdictJSON {
    static func pair(_ v: Verdict, _ t: Topology) -> JSON {
        .object([
            ("provider", .string(v.provider.description)),
            ("client", .string(v.client.description)),
            ("provider_alias", t.alias(v.provider).map(JSON.string) ?? .null),
            ("client_alias", t.alias(v.client).map(JSON.string) ?? .null),
            ("map_type", .string(v.mapType.rawValue)),
            ("distance", .int(Int64(v.distance))),
            ("acs_redirect", .array(v.acsRedirect.map { .string($0.description) })),
            ("acs_unknown", .array(v.acsUnknown.map { .string($0.description) })),
            ("common_upstream", .bool(v.commonUpstream != nil)),
            ("common_upstream_bdf", v.commonUpstream.map { .string($0.description) } ?? .null),
            ("path_class", .string(v.pathClass.rawValue)),
            ("host_bridges", .array(v.hostBridges.map { .string($0.description) })),
            ("reason", .string(v.reason)),
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

/// Terminal width for grids: COLUMNS, the tty, else 80.
func outputWidth() -> Int {
    if let c = getenv("COLUMNS").flatMap({ Int(String(cString: $0)) }), c >= 40 { return c }
    var ws = winsize()
    if isatty(1) != 0, ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col >= 40 { return Int(ws.ws_col) }
    return 80
}
