import TerminalUI

/// Confirms one engine action (map, pin, unpin, unbind, export, revoke): what it does in the
/// kernel's words and the scenario line that does the same headless.
final class ActionDialog: ExplorerDialog {
    let action: Action
    init(_ action: Action) { self.action = action }

    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction {
        switch key {
        case .enter:
            // With a kernel beside the model both are asked the same question: P is an
            // O_DIRECT read by a drive into the mapping, so the model pins and DMA-maps for that drive.
            if case .pin = action, let k = m.kernel, let p = k.mappedProvider ?? m.selectedDevice.flatMap({ $0.sysfs?.p2pmem != nil ? $0.bdf : nil }),
               let drive = k.drive(for: p) {
                m.perform(.pinForDMA(client: drive.function))
            } else {
                m.perform(action)
            }
            guard let k = m.kernel else { return .close }
            // The running kernel does the same; the answer replaces this dialog.
            let prediction = m.message ?? ""
            let key: String
            switch action {
            case .map(let d):
                guard m.topology.device(d)?.sysfs?.p2pmem != nil else { m.message = prediction + " (model only: select a p2pmem provider for the kernel)"; return .close }
                k.map(d); key = "m"
            case .pin, .pinForDMA:
                guard let p = k.mappedProvider ?? m.selectedDevice.flatMap({ $0.sysfs?.p2pmem != nil ? $0.bdf : nil }) else {
                    m.message = prediction + " (model only: map a provider's p2pmem first, m)"; return .close
                }
                k.holdPins(p); key = "P"
            case .unpin: k.releasePins(); key = "U"
            case .unbind(let d): k.unbind(d); key = "u"
            case .export, .revoke: m.message = prediction + " (model only: the kernel's dma-buf route needs VFIO)"; return .close
            }
            return .replace(KernelAnswerDialog(title: action.title, key: key, prediction: prediction))
        case .escape, .character("q"): return .close
        default: return .none
        }
    }

    func face(in screenArea: Rect, _ m: ExplorerModel) -> DialogFace {
        let (what, line) = m.describe(action)
        let t = m.theme
        return .box(Dialog(title: action.title, lines: [
            [Span(what, t.text)], [],
            [Span("headless: ", t.dim), Span(line, t.accent)], [],
            [Span("Enter", t.accent), Span(" does it   "), Span("Esc", t.accent), Span(" cancels")],
        ], style: t.text, border: t.border))
    }

    func command(_ m: ExplorerModel) -> String? { "p2ptop scenario run: " + m.describe(action).1 }
}
