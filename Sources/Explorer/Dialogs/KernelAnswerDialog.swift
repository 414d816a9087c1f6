import LinuxFiles
import PCITopology
import TerminalUI

/// What an action did on the running kernel, beside what the model predicted for it: the
/// errno or result, dmesg lines, /proc/vmstat's pin counters, and the command line that does
/// the same — updated while the action runs (pins held, an unbind waiting).
final class KernelAnswerDialog: ExplorerDialog {
    let title: String
    /// The kernel action's key (`m`, `P`, `U`, `u`), read live; nil for a fixed answer.
    let key: String?
    let prediction: String
    var fixed: [String]
    var command: String

    init(title: String, key: String?, prediction: String, fixed: [String] = [], command: String = "") {
        self.title = title; self.key = key; self.prediction = prediction; self.fixed = fixed; self.command = command
    }

    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction {
        switch key {
        case .escape, .enter, .character("q"): return .close
        default: return .none
        }
    }

    func command(_ m: ExplorerModel) -> String? {
        let c = key.flatMap { m.kernel?.answer($0)?.command } ?? command
        return c.isEmpty ? nil : c
    }

    func face(in screenArea: Rect, _ m: ExplorerModel) -> DialogFace {
        let t = m.theme
        let width = max(20, min(screenArea.width - 8, 100))
        var lines: [Line] = []
        for (i, l) in wrapText(prediction, width: width - 9).enumerated() { lines.append([Span(i == 0 ? "model   " : "        ", t.dim), Span(l, t.text)]) }
        lines.append([])
        var kernelLines = fixed
        var style = t.good
        if let key, let a = m.kernel?.answer(key) {
            kernelLines = a.lines
            if a.running {
                kernelLines += m.kernel?.liveLines() ?? []
                if key == "u" { kernelLines.append("the unbind is waiting: \(format1(Monotonic.seconds() - a.started)) s (memunmap_pages waits for the pinned pages)") }
                style = t.warn
            }
            if a.failed { style = t.bad }
            // Releasing pins is what a waiting unbind waits for: its state shows here too.
            if key == "U", let u = m.kernel?.answer("u") {
                kernelLines.append(u.running ? "unbind: still waiting (\(format1(Monotonic.seconds() - u.started)) s)" : "unbind: " + (u.lines.dropFirst().first ?? "done"))
            }
        }
        for (i, text) in kernelLines.enumerated() {
            for (j, l) in wrapText(text, width: width - 9).enumerated() {
                lines.append([Span(i == 0 && j == 0 ? "kernel  " : "        ", t.dim), Span(l, text.hasPrefix("dmesg:") ? t.dim : style)])
            }
        }
        if let cmd = command(m) { lines.append([]); lines.append([Span("command ", t.dim), Span(String(cmd.prefix(width - 9)), t.accent)]) }
        lines.append([])
        // Only what is still going on is said to go on: pins a refused read never held are not "kept".
        let running = key.flatMap { m.kernel?.answer($0)?.running } ?? false
        lines.append([Span("Esc", t.accent), Span(" closes" + (key == "P" && running ? " (the pins stay until U)" : key == "u" && running ? " (the unbind goes on)" : ""), t.dim)])
        return .box(Dialog(title: title + " — the kernel and the model", lines: lines, style: t.text, border: t.border))
    }
}
