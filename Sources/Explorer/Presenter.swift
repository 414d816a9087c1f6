import P2PDMA
import P2PEngine
import PCITopology
import TerminalUI

/// Presenter mode: a scenario played one step per key press, captions large, the engine's
/// counters in view.
public final class Presenter {
    public let runner: ScenarioRunner
    public var theme: Theme
    public private(set) var events: [ScenarioRunner.Event] = []
    public private(set) var caption = "Press space to begin"
    public private(set) var quit = false

    public init(runner: ScenarioRunner, theme: Theme) { self.runner = runner; self.theme = theme }

    public func handle(_ event: Event) {
        guard case .key(let k) = event else { return }
        switch k {
        case .character("q"), .escape: quit = true
        case .character(" "), .enter, .right, .character("n"): advance()
        default: break
        }
    }

    /// Runs steps up to and including the next non-caption action (captions show with it).
    func advance() {
        while !runner.finished {
            let e = runner.step()
            events.append(e)
            if e.action == "caption" { caption = e.detail; continue }
            return
        }
        if runner.finished && !caption.hasPrefix("The end") {
            runner.cleanup()
            let l = runner.engine.leaks()
            caption = "The end — leaks: pins \(l.pins), pages \(l.pages), pool bytes \(l.poolBytes). q quits."
        }
    }

    public func render(into c: inout Canvas) {
        c.fill(c.area, theme.text)
        guard c.width >= 60, c.height >= 15 else {
            c.put("terminal too small for the demo (60×15)", x: 0, y: 0, theme.warn)
            return
        }
        let (header, rest) = c.area.rows(1)
        let (status, body) = rest.rows(-1)
        c.fill(header, theme.header)
        c.put(" p2ptop demo · \(runner.scenario.name) · step \(runner.next)/\(runner.scenario.steps.count)", x: 0, y: header.y, theme.header.bold(), clip: header)
        // The caption, large: wrapped, bold, with space around it.
        var y = body.y + 1
        for line in wrapText(caption, width: body.width - 6).prefix(3) {
            c.put(line, x: body.x + 3, y: y, theme.title, clip: body)
            y += 1
        }
        y += 1
        // Pins and the last transfer's figure.
        let stat = runner.engine.vmstat
        let pinText = "pins acquired \(stat.nr_foll_pin_acquired)   released \(stat.nr_foll_pin_released)   outstanding \(stat.outstanding)"
        c.put(pinText, x: body.x + 3, y: y, stat.outstanding > 0 ? theme.warn.bold() : theme.good, clip: body)
        y += 1
        if let t = events.last(where: { $0.action == "transfer" && $0.outcome == "ok" }), let rate = t.detail.split(separator: ",").dropFirst().first {
            c.put("last transfer:\(rate)", x: body.x + 3, y: y, theme.accent.bold(), clip: body)
        }
        y += 2
        // The recent steps.
        let recent = events.filter { $0.action != "caption" }.suffix(max(1, body.maxY - y - 1))
        for e in recent {
            let mark = e.matched ? "✓" : "✗"
            let outcome = e.outcome == "ok" ? "" : "  → " + e.outcome
            c.put("\(mark) \(e.text)\(outcome)", x: body.x + 3, y: y, e.matched ? theme.text : theme.bad, clip: body)
            y += 1
            if y >= body.maxY { break }
        }
        c.fill(status, theme.header)
        c.put(" space: next step   q: quit   (headless: p2ptop scenario run \(runner.scenario.name))", x: 0, y: status.y, theme.header, clip: status)
    }
}

func wrapText(_ text: String, width: Int) -> [String] {
    var lines: [String] = [], current = ""
    for word in text.split(separator: " ") {
        if current.count + word.count + 1 > max(10, width) && !current.isEmpty { lines.append(current); current = "" }
        current += (current.isEmpty ? "" : " ") + word
    }
    if !current.isEmpty { lines.append(current) }
    return lines
}
