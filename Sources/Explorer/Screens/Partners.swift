import P2PDMA
import PCISources
import PCITopology

/// The P2P partners of one function, as the tree's side pane and the device page list them:
/// every other P2P-capable endpoint (GPUs, accelerators, NICs, NVMe and storage, p2pmem
/// providers) with the kernel's verdict for this function providing and the other one doing
/// the DMA; BUS_ADDR first, then THRU_HOST_BRIDGE, then refused, nearer before farther.
struct P2PPartners {
    struct Partner {
        var bdf: BDF
        var verdict: Verdict
    }
    /// Whether the function is itself a P2P endpoint (a bridge or a chipset function is not).
    var isEndpoint: Bool
    var partners: [Partner]

    init(of b: BDF, _ m: ExplorerModel) {
        let endpoints = m.analyzer.p2pEndpoints
        isEndpoint = endpoints.contains { $0.bdf == b }
        guard isEndpoint else { partners = []; return }
        partners = endpoints.filter { $0.bdf != b }.map { Partner(bdf: $0.bdf, verdict: m.verdict(b, $0.bdf)) }
        partners.sort { p, q in
            let rank = { (v: Verdict) in v.mapType == .busAddr ? 0 : v.mapType == .thruHostBridge ? 1 : 2 }
            if rank(p.verdict) != rank(q.verdict) { return rank(p.verdict) < rank(q.verdict) }
            return (p.verdict.distance ?? Int.max, p.bdf) < (q.verdict.distance ?? Int.max, q.bdf)
        }
    }

    /// The map type as the matrix abbreviates it.
    static func code(_ v: Verdict) -> String {
        v.pathClass.rawValue + (v.mapType == .busAddr ? "·B" : v.mapType == .thruHostBridge ? "·H" : "·-")
    }
}
