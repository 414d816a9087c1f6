import P2PDMA
import PCITopology
import TerminalUI

/// Confirms an ACS redirect flip on a port of a demo fabric: the ACSCtl it would get, what
/// that does to the pairs below, and the setpci line that does it on a real machine.
final class ACSDialog: ExplorerDialog {
    let bridge: BDF
    let bits: ACSBits

    init(bridge: BDF, bits: ACSBits) { self.bridge = bridge; self.bits = bits }

    /// The flip for a port: redirect bits off when any is on, else request + completion redirect.
    static func flip(_ d: Device) -> ACSDialog? {
        guard let acs = d.acs else { return nil }
        let redirecting = !acs.control.isDisjoint(with: .p2pRedirect)
        return ACSDialog(bridge: d.bdf, bits: redirecting ? acs.control.subtracting(.p2pRedirect) : acs.control.union([.requestRedirect, .completionRedirect]))
    }

    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction {
        switch key {
        case .enter:
            guard let k = m.kernel, k.lab, m.topology.source.kind == .live, let acs = m.topology.device(bridge)?.acs else {
                m.applyACS(bridge, bits); return .close
            }
            // The lab guest: the model's prediction, then the write, the read-back and a rescan.
            let pairs = ACSDialog.pairsBelow(bridge, m)
            let before = pairs.map { m.verdict($0.0, $0.1).mapType }
            m.applyACS(bridge, bits)
            let predicted = pairs.map { m.verdict($0.0, $0.1).mapType }
            let prediction = (m.message ?? "") + "; " + ACSDialog.changes(pairs, before, predicted, m)
            let offset = acs.offset + 6
            let r = k.writeACS(bridge, offset: offset, bits: bits.rawValue)
            var lines: [String] = []
            if let e = r.error { lines.append("the write failed: \(e)") }
            if let back = r.readBack { lines.append("ACSCtl read back: \(hex(back, width: 4)) (\(ACSBits(rawValue: back).lspciFlags))") }
            m.reloadLive()
            let after = pairs.map { m.verdict($0.0, $0.1).mapType }
            lines.append("after a rescan of the machine: " + ACSDialog.changes(pairs, before, after, m))
            lines.append("p2pdma keeps each provider's cached map type until the provider is released: dma_map_sg may still answer as before")
            return .replace(KernelAnswerDialog(title: "Flip ACS redirect", key: nil, prediction: prediction, fixed: lines,
                                               command: "setpci -s \(bridge) \(String(offset, radix: 16)).w=\(hex(bits.rawValue, width: 4))"))
        case .escape, .character("q"): return .close
        default: return .none
        }
    }

    func face(in screenArea: Rect, _ m: ExplorerModel) -> DialogFace {
        let t = m.theme
        let clear = bits.isDisjoint(with: .p2pRedirect)
        return .box(Dialog(title: "Flip ACS redirect", lines: [
            [Span("\(m.name(bridge)) \(bridge): ACSCtl becomes", t.text)],
            [Span("  " + bits.lspciFlags, clear ? t.good : t.bad)],
            [Span("Pairs below it are then " + (clear ? "BUS_ADDR again." : "routed through the root complex (or refused)."), t.dim)],
            [],
            [Span("Enter", t.accent), Span(" applies (on the model; real machines: setpci)   "), Span("Esc", t.accent), Span(" cancels")],
        ], style: t.text, border: t.border))
    }

    func command(_ m: ExplorerModel) -> String? {
        guard let acs = m.topology.device(bridge)?.acs else { return nil }
        return "setpci -s \(bridge) \(String(acs.offset + 6, radix: 16)).w=\(hex(bits.rawValue, width: 4))"
    }

    /// Provider → client pairs of endpoints below a port (p2pmem providers first), at most 6.
    static func pairsBelow(_ port: BDF, _ m: ExplorerModel) -> [(BDF, BDF)] {
        let below = m.endpoints.map(\.bdf).filter { m.topology.upstreamPath($0).contains(port) }
        // Clients below the same port first: the pairs whose path the port's bits decide.
        let all = below + m.endpoints.map(\.bdf).filter { !below.contains($0) }
        var out: [(BDF, BDF)] = []
        for p in below.sorted(by: { (m.topology.device($0)?.sysfs?.p2pmem != nil ? 0 : 1) < (m.topology.device($1)?.sysfs?.p2pmem != nil ? 0 : 1) }) {
            for q in all where q != p && out.count < 6 { out.append((p, q)) }
        }
        return out
    }

    static func changes(_ pairs: [(BDF, BDF)], _ a: [MapType], _ b: [MapType], _ m: ExplorerModel) -> String {
        let changed = pairs.indices.filter { a[$0] != b[$0] }
        guard !changed.isEmpty else { return "no verdict below it changes" }
        return changed.prefix(3).map { "\(m.name(pairs[$0].1)) → \(m.name(pairs[$0].0)) \(a[$0].rawValue) → \(b[$0].rawValue)" }.joined(separator: ", ")
    }
}
