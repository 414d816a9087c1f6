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
        case .enter: m.applyACS(bridge, bits); return .close
        case .escape, .character("q"): return .close
        default: return .none
        }
    }

    func render(in screenArea: Rect, on c: inout Canvas, _ m: ExplorerModel) {
        let t = m.theme
        let clear = bits.isDisjoint(with: .p2pRedirect)
        Dialog(title: "Flip ACS redirect", lines: [
            [Span("\(m.name(bridge)) \(bridge): ACSCtl becomes", t.text)],
            [Span("  " + bits.lspciFlags, clear ? t.good : t.bad)],
            [Span("Pairs below it are then " + (clear ? "BUS_ADDR again." : "routed through the root complex (or refused)."), t.dim)],
            [],
            [Span("Enter", t.accent), Span(" applies (on the model; real machines: setpci)   "), Span("Esc", t.accent), Span(" cancels")],
        ], style: t.text, border: t.border).render(in: screenArea, on: &c)
    }

    func command(_ m: ExplorerModel) -> String? {
        guard let acs = m.topology.device(bridge)?.acs else { return nil }
        return "setpci -s \(bridge) \(String(acs.offset + 6, radix: 16)).w=\(hex(bits.rawValue, width: 4))"
    }
}
