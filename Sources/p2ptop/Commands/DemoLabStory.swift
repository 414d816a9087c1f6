import Explorer
import Lab
import PCISources
import TerminalUI

/// `p2ptop demo lab-story`: the story told on the real kernel. The lab boots once, the guest
/// does every step for real, and each step is shown with the kernel's answer (what it
/// returned, what it logged, what /proc/vmstat counted) beside p2ptop's prediction from the
/// guest's snapshot. Played like a recording (the steps already ran); `--record` keeps it.
enum LabStoryDemo {
    static let name = "lab-story"

    /// Every frame at one size: the opening card, each step, the closing card.
    static func recording(kernel: String, told: [LabStory.Told], width: Int, height: Int, theme: Theme) -> DemoRecording {
        var r = DemoRecording(story: name, title: LabStory.title, width: width, height: height)
        for k in 0...(told.count + 1) {
            var c = Canvas(width: width, height: height)
            c.monochrome = true
            render(&c, kernel: kernel, told: told, position: k, theme: theme)
            var event: JSON = .null
            if k >= 1 && k <= told.count {
                let t = told[k - 1], o = t.observation
                var answer: [(String, JSON)] = [("observed", .string(t.experiment.observed)), ("agree", .bool(t.experiment.agree)),
                                                ("dmesg", .array(o.kernelLog.map { .string($0) }))]
                answer.append(("foll_pin_acquired_pages", o.pinsAcquired.map { .int(Int64($0)) } ?? .null))
                answer.append(("foll_pin_released_pages", o.pinsReleased.map { .int(Int64($0)) } ?? .null))
                answer.append(("detail", .string(o.detail)))
                event = .object([("line", .int(Int64(k))), ("text", .string(o.step.name)), ("outcome", .string(t.experiment.predicted)),
                                 ("expected", .null), ("matched", .bool(t.experiment.agree)), ("explanation", .string(t.caption)),
                                 ("detail", .string(t.experiment.detail)), ("kernel", .object(answer))])
            }
            r.add(step: min(k, told.count), of: told.count, ended: k == told.count + 1, event: event, engine: .null, screen: c.lines)
        }
        return r
    }

    /// A step's name in the list: the reason check shares its pair's name, so it says so.
    static func label(_ o: LabObservation) -> String { o.step.kind == .reason ? o.step.name + " (dmesg reason)" : o.step.name }

    static func render(_ c: inout Canvas, kernel: String, told: [LabStory.Told], position k: Int, theme t: Theme) {
        c.fill(c.area, t.text)
        let (header, rest) = c.area.rows(1)
        let (status, body) = rest.rows(-1)
        c.fill(header, t.header)
        let counter = k == 0 ? "\(told.count) steps" : k > told.count ? "the end" : "step \(k)/\(told.count)"
        c.put(" p2ptop demo · \(counter) · \(LabStory.title)", x: 0, y: 0, t.header.bold(), clip: header)
        let right = "lab-switch · Linux \(kernel) "
        if header.width > 60 + right.count { c.put(right, x: header.maxX - right.count, y: 0, t.header, clip: header) }
        c.fill(status, t.header)
        c.put(" space/→ next   ← back   r restart   q quit   (the steps ran in the lab guest)", x: 0, y: status.y, t.header, clip: status)
        let width = min(body.width - 6, 90)
        if k == 0 {
            var lines: [Line] = wrapText(LabStory.description, width: width).map { [Span($0, t.text)] }
            lines += [[], [Span("What you will see", t.title)]]
            for item in told.prefix(max(1, body.height - lines.count - 6)) { lines.append([Span("• ", t.accent), Span(String(item.caption.prefix(width - 2)), t.text)]) }
            lines += [[], [Span("space", t.accent.bold()), Span(" begins", t.dim)]]
            Dialog(title: LabStory.title, lines: lines, style: t.text, border: t.border).render(in: body, on: &c)
            return
        }
        if k > told.count {
            let agree = told.filter { $0.experiment.agree }.count
            Dialog(title: "The end", lines: [
                [Span("\(told.count) steps on Linux \(kernel): ", t.text), Span(agree == told.count ? "every answer as p2ptop predicted" : "\(told.count - agree) not as predicted", agree == told.count ? t.good.bold() : t.bad.bold())],
                [], [Span("r", t.accent.bold()), Span(" plays it again · ", t.dim), Span("q", t.accent.bold()), Span(" quits", t.dim)],
            ], style: t.text, border: t.border).render(in: body, on: &c)
            return
        }
        let item = told[k - 1], e = item.experiment, o = item.observation
        let (top, list) = body.rows(max(8, body.height - min(8, told.count + 2)))
        var y = top.y + 1
        for l in wrapText(item.caption, width: width).prefix(2) { c.put(l, x: top.x + 2, y: y, t.title.bold(), clip: top); y += 1 }
        y += 1
        c.put("step: " + label(o), x: top.x + 2, y: y, t.dim, clip: top); y += 2
        let col = max(20, (top.width - 6) / 2)
        c.put("p2ptop predicted (from the snapshot)", x: top.x + 2, y: y, t.dim, clip: top)
        c.put("Linux \(kernel) answered", x: top.x + 4 + col, y: y, t.dim, clip: top)
        y += 1
        c.put(String(e.predicted.prefix(col)), x: top.x + 2, y: y, t.accent.bold(), clip: top)
        c.put((e.agree ? "✓ " : "✗ ") + String(e.observed.prefix(col - 2)), x: top.x + 4 + col, y: y, e.agree ? t.good.bold() : t.bad.bold(), clip: top)
        y += 2
        var facts: [String] = []
        if let a = o.pinsAcquired, let r = o.pinsReleased { facts.append("/proc/vmstat: nr_foll_pin_acquired +\(a), released +\(r)") }
        if let v = o.vmPinKB { facts.append("VmPin \(v) kB") }
        facts += o.kernelLog.prefix(3).map { "dmesg: " + $0 }
        if !e.detail.isEmpty { facts.append(e.detail) }
        for f in facts {
            for l in wrapText(f, width: width).prefix(2) where y < top.maxY { c.put(l, x: top.x + 2, y: y, f.hasPrefix("dmesg") ? t.dim : t.text, clip: top); y += 1 }
        }
        var state = ListState(selected: k - 1)
        ListView(count: told.count, highlight: t.selection.bold()) { i in
            let n = i + 1 < 10 ? " \(i + 1)" : "\(i + 1)"
            guard i < k else { return [Span("\(n)   " + label(told[i].observation), t.dim)] }
            return [Span("\(n) ", t.dim), Span(told[i].experiment.agree ? "✓ " : "✗ ", told[i].experiment.agree ? t.good : t.bad),
                    Span(label(told[i].observation) + " → " + told[i].experiment.observed, t.text)]
        }.render(in: Rect(x: list.x + 1, y: list.y, width: list.width - 2, height: list.height), on: &c, state: &state)
    }
}
