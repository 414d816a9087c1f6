import TerminalUI

/// F1 or `?`: the keys — the app's own, then each screen's — with the ones that would change
/// something left out under `--readonly`.
final class HelpDialog: ExplorerDialog {
    /// (keys, what, changes something)
    let entries: [(keys: String, what: String, acts: Bool)]
    /// The first line shown, when the keys do not fit the terminal (↑↓ PgUp PgDn scroll).
    var offset = 0

    init(screens: [any ExplorerScreen]) {
        var e: [(keys: String, what: String, acts: Bool)] = [
            ("q F10", "quit", false),
            ("? F1", "this help; Esc closes it", false),
            ("Tab Shift-Tab 1-\(screens.count)", "switch screens: " + screens.map { $0.id.title.lowercased() }.joined(separator: ", "), false),
            ("mouse", "click a screen's name to switch; click a row to select it, wheel scrolls", false),
            ("↑↓ j k  PgUp PgDn Home End", "move", false),
        ]
        var seen = Set<String>()
        for s in screens {
            for h in s.help where seen.insert(h.keys + h.what).inserted {
                e.append((h.keys, h.what, h.keys.split(separator: " ").allSatisfy { $0.count == 1 && ExplorerApp.actionKeys.contains($0.first!) }))
            }
        }
        e += [
            ("t  c", "start a transfer (a dialog; Enter accepts; live: a real O_DIRECT read), cancel it", true),
            ("a", "flip ACS redirect (RR, CR) on the selected port — demo fabrics; the matrix follows", true),
            ("m P U", "map the selected device's memory, pin 256 pages of it, unpin", true),
            ("u  x r", "unbind the selected provider; export its BAR as a dma-buf, revoke it", true),
            ("", "", false),
            ("", "The bottom line shows the p2ptop command for what is on screen.", false),
        ]
        entries = e
    }

    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction {
        switch key {
        case .escape, .character("?"), .function(1), .character("q"): return .close
        case .down, .character("j"): offset = min(offset + 1, entries.count)
        case .up, .character("k"): offset = max(0, offset - 1)
        case .pageDown, .character(" "): offset = min(offset + 10, entries.count)
        case .pageUp: offset = max(0, offset - 10)
        default: break
        }
        return .none
    }

    func face(in screenArea: Rect, _ m: ExplorerModel) -> DialogFace {
        let t = m.theme
        var lines: [Line] = []
        if m.readonly { lines.append([Span("read-only (--readonly): nothing here changes the machine or the model", t.warn)]) }
        for e in entries where !(m.readonly && e.acts) {
            lines.append(e.keys.isEmpty ? [Span(e.what, t.dim)] : [Span(e.keys, t.accent), Span("  " + e.what)])
        }
        return .box(Dialog(title: "Keys", lines: lines, style: t.text, border: t.border, offset: offset))
    }
}
