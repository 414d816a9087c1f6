import P2PDMA
import P2PEngine
import PCITopology
import TerminalUI

/// The presenter's stage, drawn from the presenter's state: an opening card; then the machine
/// (only the functions the story touches and the bridges between them, the pair in play
/// marked hop by hop with each link's speed × width), the engine's state, the step list with
/// the current step highlighted, and a large caption — the chapter, what the kernel answered
/// and why; a closing card. Fits 80×24; uses more room where there is more.
struct StageView {
    let presenter: Presenter
    var theme: Theme { presenter.theme }
    var engine: Engine { presenter.runner.engine }

    func render(into c: inout Canvas) {
        let t = theme
        c.fill(c.area, t.text)
        guard c.width >= 60, c.height >= 15 else {
            c.put("terminal too small for the demo: it needs 60×15 (now \(c.width)×\(c.height)); q quits", x: 0, y: 0, t.warn)
            return
        }
        let (header, rest) = c.area.rows(1)
        let (status, body) = rest.rows(-1)
        renderHeader(header, &c)
        if presenter.position == 0 && !presenter.ended { renderOpening(body, &c) }
        else if presenter.ended { renderClosing(body, &c) }
        else {
            let captionHeight = max(6, min(9, body.height / 3))
            let (caption, top) = body.rows(-captionHeight)
            let (machine, right) = top.columns(max(34, top.width * 9 / 20))
            // The kernel's state takes the rows its lines need; the step list scrolls in the rest.
            let stateLines = engineLines(width: right.width - 4)
            let (state, steps) = right.rows(max(4, min(stateLines.count + 2, right.height - 5)))
            renderMachine(machine, &c)
            renderEngine(state, &c)
            renderSteps(steps, &c)
            renderCaption(caption, &c)
        }
        c.fill(status, t.header)
        let keys = " space/→ next   ← back   r restart   q quit"
        let headless = "   (headless: p2ptop scenario run \(presenter.scenario.name))"
        c.put(keys + (keys.count + headless.count <= status.width ? headless : ""), x: status.x, y: status.y, t.header, clip: status)
    }

    var machineName: String { presenter.scenario.fabric ?? engine.topology.host.hostname ?? "this machine" }

    var counter: String {
        presenter.ended ? "the end" : presenter.position == 0 ? "\(presenter.stepCount) steps" : "step \(presenter.position)/\(presenter.stepCount)"
    }

    func renderHeader(_ a: Rect, _ c: inout Canvas) {
        let t = theme, s = presenter.scenario
        c.fill(a, t.header)
        // The counter first: a long title is cut, the counter never.
        let left = " p2ptop demo · \(counter) · \(s.title ?? s.name)"
        c.put(left.count > a.width ? String(left.prefix(a.width - 1)) + "…" : left, x: a.x, y: a.y, t.header.bold(), clip: a)
        let right = "\(machineName) · kernel \(engine.kernel) "
        let used = left.count
        if a.width - used > right.count + 2 { c.put(right, x: a.maxX - right.count, y: a.y, t.header, clip: a) }
    }

    // MARK: the cards

    func renderOpening(_ body: Rect, _ c: inout Canvas) {
        let t = theme, s = presenter.scenario
        let width = min(body.width - 8, 76)
        var lines: [Line] = []
        for l in wrapText(s.description.isEmpty ? "A story in \(presenter.stepCount) steps." : s.description, width: width).prefix(max(2, body.height / 4)) {
            lines.append([Span(l, t.text)])
        }
        let tail: [Line] = [
            [],
            [Span("The machine: ", t.dim), Span("\(machineName), \(engine.topology.devices.count) functions, kernel \(engine.kernel)", t.text)],
            [Span("\(presenter.stepCount) steps · ", t.dim), Span("space", t.accent.bold()), Span(" begins", t.dim)],
        ]
        // What the audience will see: the chapters, as many as the card holds.
        let chapters = presenter.items.compactMap(\.chapter).reduce(into: [String]()) { if $0.last != $1 { $0.append($1) } }
        // The dialog box is at most the body's height less 4 (two rows clear of each edge), its text 2 rows less again.
        let capacity = body.height - 6
        let room = capacity - lines.count - tail.count - 2
        if !chapters.isEmpty && room > 0 {
            lines.append([])
            lines.append([Span("What you will see", t.title)])
            var shown = 0
            for ch in chapters {
                let wrapped = wrapText(ch, width: width - 2)
                let need = min(2, wrapped.count)
                if lines.count + need > capacity - tail.count - (shown < chapters.count - 1 ? 1 : 0) { break }
                for (i, l) in wrapped.prefix(need).enumerated() {
                    let cut = i == need - 1 && wrapped.count > need
                    lines.append([Span(i == 0 ? "• " : "  ", t.accent), Span(cut ? String(l.prefix(width - 3)) + "…" : l, t.text)])
                }
                shown += 1
            }
            if shown < chapters.count { lines.append([Span("  … and \(chapters.count - shown) more", t.dim)]) }
        }
        lines += tail
        Dialog(title: s.title ?? s.name, lines: lines, style: t.text, border: t.border).render(in: body, on: &c)
    }

    func renderClosing(_ body: Rect, _ c: inout Canvas) {
        let t = theme
        let steps = presenter.events.filter { $0.action != "caption" }
        let unexpected = steps.filter { !$0.matched }
        let l = engine.leaks()
        var lines: [Line] = [
            [Span("\(steps.count) steps, ", t.text), Span(unexpected.isEmpty ? "every one as the model predicted" : "\(unexpected.count) not as expected", unexpected.isEmpty ? t.good.bold() : t.bad.bold())],
            [Span("after cleanup — leaks: pins \(l.pins), pages \(l.pages), pool bytes \(l.poolBytes)", l.isEmpty ? t.good : t.bad)],
            [Span("vmstat: nr_foll_pin_acquired \(engine.vmstat.nr_foll_pin_acquired), released \(engine.vmstat.nr_foll_pin_released)", t.dim)],
        ]
        for e in unexpected.prefix(3) { lines.append([Span("✗ \(e.text) → \(e.outcome)", t.bad)]) }
        lines += [[], [Span("r", t.accent.bold()), Span(" plays it again · ", t.dim), Span("q", t.accent.bold()), Span(" quits", t.dim)]]
        Dialog(title: "The end", lines: lines, style: t.text, border: t.border).render(in: body, on: &c)
    }

    // MARK: the stage

    /// The pair of the step shown, and the hops between them where both are devices.
    var pair: (provider: BDF?, client: BDF?, verdict: Verdict?) {
        guard let item = presenter.current, let p = presenter.cast.pairs[item.step] else { return (nil, nil, nil) }
        var v: Verdict?
        if let a = p.provider, let b = p.client, a != b { v = engine.analyzer.verdict(provider: a, client: b) }
        return (p.provider, p.client, v)
    }

    func renderMachine(_ a: Rect, _ c: inout Canvas) {
        let t = theme, topo = engine.topology
        Block(title: "The machine", style: t.border, titleStyle: t.title).render(in: a, on: &c)
        let inner = a.inner
        var nodes = Set<BDF>()
        for d in presenter.cast.devices { nodes.insert(d); nodes.formUnion(topo.upstreamPath(d)) }
        let (provider, client, verdict) = pair
        let hops = Set(verdict?.hops ?? [provider, client].compactMap { $0 })
        var lines: [Line] = []
        func visit(_ owner: BDF?, _ depth: Int) {
            for b in topo.children(owner) where nodes.contains(b) {
                guard let d = topo.device(b) else { continue }
                let on = hops.contains(b)
                let role = b == provider ? "● " : b == client ? "○ " : on ? "◆ " : "  "
                let name = topo.alias(b) ?? b.short
                var line: Line = [Span(String(repeating: "  ", count: depth) + role, on ? t.accent.bold() : t.dim),
                                  Span(name.padded(8), on ? t.accent.bold() : t.text)]
                let port = d.express?.portType
                if port != .rootPort, port != .downstreamPort, let s = topo.link(of: d)?.link.status {
                    line.append(Span(" " + s.text, on ? t.warn.bold() : t.dim))
                } else {
                    let room = inner.width - depth * 2 - 2 - 9
                    line.append(Span(" " + TextCut.words(topo.kind(b).tag, max(4, room)), t.dim))
                }
                lines.append(line)
                visit(b, depth + 1)
            }
        }
        visit(nil, 0)
        Paragraph(Array(lines.prefix(inner.height - 2))).render(in: inner, on: &c)
        var y = inner.y + min(lines.count, inner.height - 2)
        if y < inner.maxY {
            let legend: Line = [Span("● memory  ○ DMA  ◆ path", t.dim)]
            if lines.count + 1 < inner.height { y += 1 }
            c.put(legend, x: inner.x, y: min(y, inner.maxY - 1), clip: inner)
        }
    }

    func renderEngine(_ a: Rect, _ c: inout Canvas) {
        Block(title: "The kernel's state (model)", style: theme.border, titleStyle: theme.title).render(in: a, on: &c)
        Paragraph(engineLines(width: a.width - 4)).render(in: Rect(x: a.x + 2, y: a.y + 1, width: a.width - 4, height: a.height - 2), on: &c)
    }

    /// The engine pane's lines, folded at words under the value column (never cut at its edge).
    func engineLines(width: Int) -> [Line] {
        let t = theme, e = engine
        var lines: [Line] = []
        for (b, p) in e.providers.sorted(by: { $0.key < $1.key }) {
            let used = p.size - p.available
            lines.append([Span("p2pmem \(e.topology.alias(b) ?? b.short) ", t.dim), Span("\(ByteSize.text(UInt64(used))) of \(ByteSize.text(UInt64(p.size))) allocated", used > 0 ? t.warn : t.text),
                          Span(p.alive ? "" : "  (unbinding)", t.bad)])
        }
        let live = e.vmas.filter { !$0.zapped }
        var kinds: [String] = []
        let p2p = live.filter { if case .p2pmem = $0.kind { return true } else { return false } }.count
        let pfn = live.filter { if case .pfnmap = $0.kind { return true } else { return false } }.count
        if p2p > 0 { kinds.append("\(p2p) p2pmem") }
        if pfn > 0 { kinds.append("\(pfn) resourceN (PFNMAP)") }
        if live.count - p2p - pfn > 0 { kinds.append("\(live.count - p2p - pfn) host") }
        lines.append([Span("mapped  ", t.dim), Span(kinds.isEmpty ? "nothing" : kinds.joined(separator: ", "), t.text)])
        let out = e.vmstat.outstanding
        lines.append([Span("pinned  ", t.dim), Span("\(out) pages now", out > 0 ? t.warn.bold() : t.good)])
        lines.append([Span("vmstat  ", t.dim), Span("nr_foll_pin_acquired \(e.vmstat.nr_foll_pin_acquired), released \(e.vmstat.nr_foll_pin_released)", t.dim)])
        let bufs = e.dmabufs
        if !bufs.isEmpty {
            let attached = bufs.reduce(0) { $0 + $1.attachments.filter { !$0.invalidated }.count }
            lines.append([Span("dma-buf ", t.dim), Span("\(bufs.count) exported, \(attached) attached" + (bufs.contains { $0.revoked } ? ", revoked" : ""), t.text)])
        }
        if let last = presenter.events.last(where: { $0.action == "transfer" && $0.outcome == "ok" }),
           let rate = last.detail.split(separator: ",").dropFirst().first {
            let arg = { (k: String) in last.text.split(separator: " ").first { $0.hasPrefix(k + "=") }.map { String($0.dropFirst(k.count + 1)) } ?? "?" }
            lines.append([Span("moved   ", t.dim), Span("\(arg("from")) → \(arg("to")):\(rate) (model's clock)", t.accent)])
        }
        let (provider, client, verdict) = pair
        if let v = verdict, let p = provider, let q = client {
            let style = v.mapType == .busAddr ? t.good : v.mapType == .thruHostBridge ? t.warn : t.bad
            lines.append([Span("pair    ", t.dim), Span("\(e.topology.alias(q) ?? q.short) → \(e.topology.alias(p) ?? p.short): ", t.text),
                          Span("\(v.mapType.rawValue), \(v.pathClass.rawValue)", style.bold())])
        }
        return lines.flatMap { LineWrap.wrap($0, width: width, indent: 8) }
    }

    func renderSteps(_ a: Rect, _ c: inout Canvas) {
        let t = theme, p = presenter
        Block(title: "Steps — \(counter)", style: t.border, titleStyle: t.title).render(in: a, on: &c)
        let inner = a.inner
        let done = p.events.filter { $0.action != "caption" }
        var state = ListState(selected: max(0, p.position - 1))
        ListView(count: p.items.count, highlight: t.selection.bold()) { i in
            let n = String(i + 1).count < 2 ? " \(i + 1)" : "\(i + 1)"
            // A step too long for the pane ends on a whole word.
            if i < done.count {
                let e = done[i]
                let outcome = e.outcome == "ok" ? "" : " → \(e.outcome)"
                return [Span("\(n) ", t.dim), Span(e.matched ? "✓ " : "✗ ", e.matched ? t.good : t.bad),
                        Span(TextCut.words(p.items[i].text, max(8, inner.width - 5 - outcome.count)), t.text),
                        Span(outcome, e.matched ? t.accent : t.bad)]
            }
            return [Span("\(n)   ", t.dim), Span(TextCut.words(p.items[i].text, max(8, inner.width - 5)), t.dim)]
        }.render(in: inner, on: &c, state: &state)
    }

    func renderCaption(_ a: Rect, _ c: inout Canvas) {
        let t = theme
        guard let item = presenter.current, let e = presenter.currentEvent else { return }
        let width = a.width - 4
        var y = a.y
        if let chapter = item.chapter {
            for l in wrapText(chapter, width: width).prefix(2) { c.put(l, x: a.x + 2, y: y, t.title.bold(), clip: a); y += 1 }
        }
        let mark = e.matched ? "✓" : "✗"
        let what = "\(mark) \(e.text)" + (e.outcome == "ok" ? "" : "  → \(e.outcome)")
        c.put(TextCut.words(what, width), x: a.x + 2, y: y, e.matched ? t.accent.bold() : t.bad.bold(), clip: a)
        y += 1
        var explanation = Explain.outcome(e.action, e.outcome)
        if !e.matched, let expected = e.expected { explanation = "Not what the story expected (\(expected)). " + explanation }
        for l in wrapText(explanation, width: width).prefix(max(1, a.maxY - y - 1)) { c.put(l, x: a.x + 2, y: y, t.text, clip: a); y += 1 }
        if y < a.maxY, !e.detail.isEmpty {
            for l in wrapText("kernel (model): " + e.detail, width: width).prefix(a.maxY - y) { c.put(l, x: a.x + 2, y: y, t.dim, clip: a); y += 1 }
        }
    }
}
