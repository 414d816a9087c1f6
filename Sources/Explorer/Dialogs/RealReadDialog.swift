import P2PEngine
import TerminalUI

/// On the live machine: the real O_DIRECT read `t` offers — a block device or a file typed
/// here, read into host memory (read-only, real kernel pins).
final class RealReadDialog: ExplorerDialog {
    var plan: RealReadPlan

    init(_ plan: RealReadPlan) { self.plan = plan }

    /// Characters append to the path, Backspace deletes, Ctrl-U clears; Enter starts the read.
    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction {
        switch key {
        case .enter: return m.startRealRead(plan) ? .closeAndShow(.transfers) : .close
        case .escape: return .close
        case .backspace: if !plan.path.isEmpty { plan.path.removeLast() }
        case .character("\u{15}"): plan.path = ""
        case .character(let c) where c.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }): plan.path.append(c)
        default: return .none
        }
        plan.function = m.blockDevices.first { $0.devicePath == plan.path }?.function
        return .none
    }

    func face(in screenArea: Rect, _ m: ExplorerModel) -> DialogFace {
        let p = plan, t = m.theme
        let on = p.function.map { f in " on " + (m.topology.alias(f).map { "\($0) (\(f.short))" } ?? f.short) + ", read only" } ?? "  (type a file or block device)"
        let lines: [Line] = [
            [Span("from   ", t.dim), Span(p.path.isEmpty ? "_" : p.path + "_", t.accent), Span(on, t.dim)],
            [Span("to     ", t.dim), Span("host memory", t.accent), Span("  (mmap'd here, every byte verified after)", t.dim)],
            [Span("size   ", t.dim), Span("up to 1 GiB in \(p.block >> 20) MiB I/Os, queue depth \(p.queueDepth)", t.text)],
            [Span("via    ", t.dim), Span("O_DIRECT: the kernel pins each I/O's pages (FOLL_PIN), /proc/vmstat counts them", t.text)],
            [],
            [Span("Enter", t.accent), Span(" starts it   "), Span("Esc", t.accent), Span(" cancels   ", t.text),
             Span("Backspace/Ctrl-U", t.accent), Span(" edit the path", t.text)],
        ]
        return .box(Dialog(title: "Start a real transfer (read only)", lines: lines, style: t.text, border: t.border))
    }

    func command(_ m: ExplorerModel) -> String? { plan.path.isEmpty ? nil : plan.command }
}
