import TerminalUI

/// Confirms one engine action (map, pin, unpin, unbind, export, revoke): what it does in the
/// kernel's words and the scenario line that does the same headless.
final class ActionDialog: ExplorerDialog {
    let action: Action
    init(_ action: Action) { self.action = action }

    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction {
        switch key {
        case .enter: m.perform(action); return .close
        case .escape, .character("q"): return .close
        default: return .none
        }
    }

    func render(in screenArea: Rect, on c: inout Canvas, _ m: ExplorerModel) {
        let (what, line) = m.describe(action)
        let t = m.theme
        Dialog(title: action.title, lines: [
            [Span(what, t.text)], [],
            [Span("headless: ", t.dim), Span(line, t.accent)], [],
            [Span("Enter", t.accent), Span(" does it   "), Span("Esc", t.accent), Span(" cancels")],
        ], style: t.text, border: t.border).render(in: screenArea, on: &c)
    }

    func command(_ m: ExplorerModel) -> String? { "p2ptop scenario run: " + m.describe(action).1 }
}
