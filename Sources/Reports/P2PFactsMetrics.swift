import P2PDMA
import PCITopology
import Telemetry

/// The machine's P2P facts as metrics a fleet query can join on: the kernel's P2PDMA support,
/// every link judged from both ends, ACS redirect on the ports of P2P paths, and the kernel's
/// verdict for each pair of P2P endpoints. Pure: made from the analyzer's values.
///
/// Cardinality: links and ports grow with the functions; pairs are unordered pairs of
/// `p2pEndpoints` (GPUs, NICs, NVMe, p2pmem providers), cut at `maxPairs`, and what was cut
/// is itself a gauge.
public enum P2PFactsMetrics {
    public static let defaultMaxPairs = 2_000

    public static let kernelInfo = MetricFamily(name: "p2ptop_kernel", kind: .info, unit: nil,
        help: "The running kernel and the rules p2ptop applies for it.")
    public static let p2pdmaSupported = MetricFamily(name: "p2ptop_kernel_p2pdma_supported", kind: .gauge, unit: nil,
        help: "1 when the kernel has P2PDMA (CONFIG_PCI_P2PDMA and a version with pci_p2pdma_distance), else 0.")
    public static let linkCapSpeed = MetricFamily(name: "p2ptop_pcie_link_capability_speed_transfers_per_second", kind: .gauge, unit: nil,
        help: "What both ends of the function's upstream link can do, per lane (the lower LnkCap speed; 16 GT/s is 16e9).")
    public static let linkCapWidth = MetricFamily(name: "p2ptop_pcie_link_capability_width_lanes", kind: .gauge, unit: "lanes",
        help: "What both ends of the function's upstream link can do (the lower LnkCap width: a x16 card in a x8 slot is 8).")
    public static let linkDowntrained = MetricFamily(name: "p2ptop_pcie_link_downtrained", kind: .gauge, unit: nil,
        help: "1 when the link trained below what both its ends can do (LnkSta under the lower LnkCap), else 0.")
    public static let acsRedirect = MetricFamily(name: "p2ptop_pcie_acs_redirect", kind: .gauge, unit: nil,
        help: "1 when a port on a path between P2P endpoints has ACS RR, CR or EC set (TLPs go up to the root), else 0.")
    public static let pairInfo = MetricFamily(name: "p2ptop_p2p_pair", kind: .info, unit: nil,
        help: "The kernel's verdict for a pair of P2P endpoints: map type (pci_p2pdma_map_type) and path class.")
    public static let pairDistance = MetricFamily(name: "p2ptop_p2p_pair_distance", kind: .gauge, unit: nil,
        help: "pci_p2pdma_distance for the pair (hops, or the kernel's negative refusals).")
    public static let pairACSPorts = MetricFamily(name: "p2ptop_p2p_pair_acs_redirect_ports", kind: .gauge, unit: nil,
        help: "How many ports on the pair's path redirect (ACS RR, CR or EC).")
    public static let pairs = MetricFamily(name: "p2ptop_p2p_pairs", kind: .gauge, unit: nil,
        help: "Pairs of P2P endpoints exposed as p2ptop_p2p_pair_info.")
    public static let pairsDropped = MetricFamily(name: "p2ptop_p2p_pairs_dropped", kind: .gauge, unit: nil,
        help: "Pairs of P2P endpoints left out by the exporter's cap (--max-pairs).")

    /// Every family these facts make, for the documentation and the generated rules.
    public static let families = [kernelInfo, p2pdmaSupported, linkCapSpeed, linkCapWidth, linkDowntrained, acsRedirect,
                                  pairInfo, pairDistance, pairACSPorts, pairs, pairsDropped]

    /// The labels of each function by BDF: alias and IDs (`0x10de`), as every metric names it.
    public static func context(_ t: Topology) -> MetricContext {
        func hex(_ v: UInt16) -> String {
            let h = String(v, radix: 16)
            return "0x" + String(repeating: "0", count: max(0, 4 - h.count)) + h
        }
        var f: [String: FunctionLabels] = [:]
        for d in t.devices { f[d.bdf.description] = FunctionLabels(alias: t.alias(d.bdf), vendor: hex(d.vendorID), device: hex(d.deviceID)) }
        return MetricContext(functions: f)
    }

    public static func samples(_ a: P2PAnalyzer, maxPairs: Int = defaultMaxPairs) -> [MetricCatalog.Sample] {
        let t = a.topology, c = context(t)
        var out: [MetricCatalog.Sample] = []
        let supported = a.p2pdmaOff == nil && a.kernel.hasP2PDMA
        out.append(.init(family: kernelInfo, labels: [("release", a.kernel.full), ("rules", a.kernel.description),
                                                       ("p2pdma", supported ? "y" : "n")], value: 1))
        out.append(.init(family: p2pdmaSupported, labels: [], value: supported ? 1 : 0))
        for d in t.devices {
            guard let j = t.linkJudgement(d.bdf), j.capability.width > 0 else { continue }
            let l = c.function(d.bdf.description)
            if let g = j.capability.speed.gts { out.append(.init(family: linkCapSpeed, labels: l, value: g * 1e9)) }
            out.append(.init(family: linkCapWidth, labels: l, value: Double(j.capability.width)))
            if j.status != nil { out.append(.init(family: linkDowntrained, labels: l, value: j.isDowntrained ? 1 : 0)) }
        }
        let endpoints = a.p2pEndpoints
        var ports = Set<BDF>()
        var exposed = 0, dropped = 0
        for (i, p) in endpoints.enumerated() {
            for q in endpoints[(i + 1)...] {
                let v = a.verdict(provider: p.bdf, client: q.bdf)
                for h in v.hops where h != p.bdf && h != q.bdf { ports.insert(h) }
                guard exposed < maxPairs else { dropped += 1; continue }
                exposed += 1
                let pl = pairLabels(p.bdf, q.bdf, t)
                out.append(.init(family: pairInfo, labels: pl + [("map_type", v.mapType.rawValue), ("path_class", v.pathClass.rawValue)], value: 1))
                out.append(.init(family: pairDistance, labels: pl, value: Double(v.kernelDistance)))
                out.append(.init(family: pairACSPorts, labels: pl, value: Double(v.acsRedirect.count)))
            }
        }
        for port in ports.sorted() {
            switch a.acsState(port) {
            case .redirects: out.append(.init(family: acsRedirect, labels: c.function(port.description), value: 1))
            case .clear: out.append(.init(family: acsRedirect, labels: c.function(port.description), value: 0))
            case .unknown: break   // config space unreadable: no sample rather than a guess
            }
        }
        out.append(.init(family: pairs, labels: [], value: Double(exposed)))
        out.append(.init(family: pairsDropped, labels: [], value: Double(dropped)))
        return out
    }

    static func pairLabels(_ p: BDF, _ q: BDF, _ t: Topology) -> [(String, String)] {
        [("provider", p.description), ("client", q.description)]
            + [("provider_alias", t.alias(p)), ("client_alias", t.alias(q))].compactMap { k, v in v.map { (k, $0) } }
    }
}
