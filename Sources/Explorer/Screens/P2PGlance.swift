import P2PDMA
import PCISources
import PCITopology
import TerminalUI

/// The P2P endpoints' verdicts at a glance, under the tree where a tall terminal leaves room:
/// rows provide, columns DMA, each cell the matrix's code (PIX·B). A value, drawn from the model.
struct P2PGlance {
    let endpoints: [BDF]

    /// `kind`: the tree's filter, which the glance follows.
    init(_ m: ExplorerModel, kind: DeviceKind? = nil) {
        endpoints = m.analyzer.p2pEndpoints.map(\.bdf).filter { b in kind.map { m.topology.kind(b) == $0 } ?? true }
    }

    /// Rows it takes: a title, the column labels, one per endpoint, the legend.
    var height: Int { endpoints.count + 3 }

    func width(_ m: ExplorerModel) -> Int { labelWidth(m) + endpoints.count * 8 }

    func labelWidth(_ m: ExplorerModel) -> Int { max(8, (endpoints.map { m.name($0).count }.max() ?? 7) + 2) }

    func render(in a: Rect, on c: inout Canvas, _ m: ExplorerModel) {
        let t = m.theme, lw = labelWidth(m)
        guard endpoints.count >= 2, a.height >= height else { return }
        c.put("P2P at a glance — rows provide, columns DMA (screen 3 for the reasons)", x: a.x, y: a.y, t.title, clip: a)
        for (k, b) in endpoints.enumerated() { c.put(TextCut.words(m.name(b), 7), x: a.x + lw + k * 8, y: a.y + 1, t.dim, clip: a) }
        for (r, p) in endpoints.enumerated() {
            let y = a.y + 2 + r
            c.put(m.name(p), x: a.x, y: y, t.dim, clip: a)
            for (k, q) in endpoints.enumerated() {
                let x = a.x + lw + k * 8
                guard p != q else { c.put("X", x: x, y: y, t.dim, clip: a); continue }
                let v = m.verdict(p, q)
                c.put(P2PPartners.code(v), x: x, y: y, v.mapType == .busAddr ? t.good : v.mapType == .thruHostBridge ? t.warn : t.bad, clip: a)
            }
        }
        c.put("B BUS_ADDR · H THRU_HOST_BRIDGE · - refused; PIX PXB PHB NODE SYS as in nvidia-smi topo -m",
              x: a.x, y: a.y + 2 + endpoints.count, t.dim, clip: a)
    }
}
