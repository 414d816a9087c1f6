import P2PDMA
import P2PEngine
import PCITopology
import TerminalUI

/// `p2ptop path` as a dialog: each hop, its link to its upstream port, ACS redirect bits, the
/// bottleneck, the verdict with its reason, and what to change (the doctor's remedies).
final class PathDialog: ExplorerDialog {
    let provider: BDF, client: BDF

    init(provider: BDF, client: BDF) { self.provider = provider; self.client = client }

    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction {
        switch key {
        case .escape, .character("p"), .character("q"), .enter: return .close
        default: return .none
        }
    }

    func command(_ m: ExplorerModel) -> String? { "p2ptop path \(m.name(provider)) \(m.name(client))" + m.sourceFlags }

    func face(in screenArea: Rect, _ m: ExplorerModel) -> DialogFace {
        .box(Dialog(title: "Path \(m.name(provider)) → \(m.name(client))", lines: PathDialog.lines(provider, client, m), style: m.theme.text, border: m.theme.border))
    }

    /// The path's lines (the dialog's, and the wide matrix's side pane); folded by whoever draws them.
    static func lines(_ p: BDF, _ q: BDF, _ m: ExplorerModel) -> [Line] {
        let t = m.theme, topology = m.topology
        let v = m.verdict(p, q)
        func uplink(_ b: BDF) -> LinkCeiling? { FabricModel.ceiling(b, v, in: topology) }
        let links = v.hops.compactMap { b in uplink(b).map { (b, $0.link, $0.payload) } }
        let bottleneck = links.min { $0.2 < $1.2 }?.0
        var lines: [Line] = []
        for b in v.hops {
            var line: Line = [Span(b == p || b == q ? "● " : "○ ", t.accent), Span(m.name(b).padded(8), t.text),
                              Span(topology.kind(b).tag.padded(24), t.dim)]
            if let c = uplink(b) {
                let text = "\(c.link.text) \(String(format1(c.payload / 1e9))) GB/s"
                line.append(Span(text.padded(22), b == bottleneck ? t.warn.bold() : t.good))
            } else {
                line.append(Span((b == v.commonUpstream ? "(turn-around)" : "").padded(22), t.dim))
            }
            if let acs = topology.device(b)?.acs {
                let bits = acs.control.intersection(.p2pRedirect).names
                line.append(Span(bits.isEmpty ? "ACS: no redirect" : "ACS: " + bits.joined(separator: " "), bits.isEmpty ? t.dim : t.bad))
            }
            lines.append(line)
        }
        lines.append([])
        let style = v.mapType == .busAddr ? t.good : v.mapType == .thruHostBridge ? t.warn : t.bad
        lines.append([Span("\(v.mapType.rawValue), \(v.distanceText), \(v.pathClass.rawValue)", style.bold())])
        lines.append([Span(v.reason, t.text)])
        if let b = bottleneck { lines.append([Span("bottleneck: link above \(m.name(b))", t.warn)]) }
        let findings = Doctor(analyzer: m.analyzer).findings(for: v).filter { $0.severity != .info }.prefix(3)
        if !findings.isEmpty {
            lines.append([])
            lines.append([Span("what to change", t.title), Span("  (p2ptop doctor \(m.name(p)) \(m.name(q)))", t.dim)])
            for f in findings {
                lines.append([Span("• ", f.severity == .error ? t.bad : t.warn), Span(f.remedy, t.text)])
            }
        }
        return lines
    }
}
