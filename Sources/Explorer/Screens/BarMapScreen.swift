import PCITopology
import Reports
import TerminalUI

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension ScreenID { static let bars = ScreenID("BARs") }

/// Screen 6: the selected function's BARs inside the windows of every bridge above it, each
/// drawn to scale (log or linear, `l`) against the outermost window, with the p2pmem pool and
/// its pins per page, what the engine holds on the BARs now (mappings, pins, dma-bufs), and
/// Resizable BAR sizes — why a 64 GiB BAR does not fit, which BAR memory is in use.
final class BarMapScreen: ExplorerScreen {
    let id = ScreenID.bars
    var linear = false
    var page = SelectionPage()

    var help: [(keys: String, what: String)] { [("l", "BARs: log or linear scale")] }

    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction {
        if key == .character("l") { linear.toggle(); return .none }
        return page.handle(key, m, keepArrows: false)
    }

    func click(x: Int, y: Int, button: Int, _ m: ExplorerModel) -> ExplorerAction { page.wheel(button); return .none }

    func command(_ m: ExplorerModel) -> String { SelectionPage.command("bars", m) }

    func render(in body: Rect, on c: inout Canvas, _ m: ExplorerModel) {
        let t = m.theme, topology = m.topology
        guard let d = m.selectedDevice else { return }
        let alias = topology.alias(d.bdf).map { " (\($0))" } ?? ""
        Block(title: "BARs of \(d.bdf)\(alias) within the windows above it · \(linear ? "linear" : "log") scale (l)",
              style: t.border, titleStyle: t.title).render(in: body, on: &c)
        let inner = body.inner
        let layout = BARLayout(topology, d, memoryOnly: true)
        let largest = max(layout.windows.map(\.size).max() ?? 0, layout.bars.compactMap(\.bar.size).max() ?? 0, 1)
        let barWidth = max(10, min(40, inner.width - 56 - 2 * layout.barDepth))
        func scaled(_ size: UInt64) -> Int {
            guard size > 0 else { return 0 }
            let r = linear ? Double(size) / Double(largest) : log2(Double(size)) / log2(Double(max(largest, 2)))
            return max(1, min(barWidth, Int((r * Double(barWidth)).rounded())))
        }
        func gauge(_ size: UInt64) -> String { String(repeating: "█", count: scaled(size)) + String(repeating: "·", count: barWidth - scaled(size)) }
        var lines: [Line] = []
        var heat: [Int] = [], heatAt: Int?
        // The nesting indents the names, not the gauges: every gauge starts in one column.
        let nameWidth = 2 * max(layout.barDepth, layout.windows.map(\.depth).max() ?? 0) + 17
        func label(_ depth: Int, _ name: String) -> String { (String(repeating: " ", count: depth * 2) + name).padded(nameWidth) }
        for w in layout.windows {
            let who = (w.bridge.flatMap { topology.alias($0) } ?? "") + " " + (w.bridge?.short ?? "host")
            lines.append([Span(label(w.depth, who) + w.kind.padded(13), t.dim),
                          Span(gauge(w.size), t.accent), Span(" " + ByteSize.text(w.size).padded(6), t.text),
                          Span(" 0x" + String(w.base, radix: 16), t.dim)])
        }
        if layout.windows.isEmpty {
            lines.append([Span("  no windows known above it", t.dim)])
        }
        for p in layout.bars {
            let b = p.bar
            let kind = (b.is64Bit ? "64-bit" : "32-bit") + (b.prefetchable ? " pref" : "")
            var line: Line = [Span(label(layout.barDepth, "BAR \(b.index)") + kind.padded(13), t.text)]
            if let size = b.size {
                line += [Span(gauge(size), t.good), Span(" " + ByteSize.text(size).padded(6), t.text)]
            } else if let size = d.resizableBARSize(of: b.index) {
                line += [Span(gauge(size), t.good), Span(" " + ByteSize.text(size).padded(6), t.text), Span(" (ReBAR control)", t.dim)]
            } else {
                line.append(Span("size unknown (\(topology.source.kind == .dump ? "not in the dump" : "no sysfs"))", t.dim))
            }
            if let a = b.address { line.append(Span(" 0x" + String(a, radix: 16), t.dim)) } else { line.append(Span(" unassigned", t.warn)) }
            if p.outsideOf != nil { line.append(Span("  outside its bridge's windows", t.bad)) }
            lines.append(line)
        }
        if let p = m.pool(d.bdf) {
            let used = p.size - p.available
            lines.append([])
            lines.append([Span("p2pmem pool  ", t.title), Span("\(ByteSize.text(UInt64(p.size)))" + (p.bar.map { " on BAR \($0)" } ?? " on BAR") + ", \(ByteSize.text(UInt64(used))) allocated, \(ByteSize.text(UInt64(p.available))) free",
                                                           p.published ? t.good : t.warn),
                          Span((p.published ? "  published" : "  not published") + " · " + p.source, t.dim)])
            if !p.heat.isEmpty {
                let pinned = p.heat.reduce(0, +)
                lines.append([Span("  pins per page of the pool (\(pinned) pinned now):", t.dim)])
                heatAt = lines.count
                heat = p.heat
            }
        }
        if p2pmemLive(m, d) {
            // A real kernel keeps pins per page to itself: its FOLL_PIN counters are the live figure.
            if let p = m.telemetry.lastReadings["pins"], p.stale == nil {
                lines.append([Span("  pins on this machine now (/proc/vmstat): ≈\(Int(p.values["outstanding"] ?? 0)) outstanding" + (p.values["bound"].map { " (± \(Int($0)))" } ?? ""), t.dim)])
            }
        }
        let held = m.holdings(d.bdf)
        if !held.isEmpty {
            lines.append([])
            lines.append([Span("in use now (this session's engine)", t.title)])
            for h in held { lines.append([Span("  " + h, t.warn)]) }
        }
        for g in layout.growth {
            var text = "Resizable BAR \(g.rebar.barIndex): \(ByteSize.text(g.rebar.currentSize)) now, up to \(ByteSize.text(g.rebar.largestSize))"
            if let n = g.narrowest {
                text += "; the narrowest prefetchable window above (\(ByteSize.text(n.size))) holds " + (g.largestThatFits.map { "at most \(ByteSize.text($0))" } ?? "none of them")
            }
            lines.append([Span(text, g.rebar.currentSize < g.rebar.largestSize ? t.warn : t.dim)])
        }
        // The heat map takes the rows after its caption (two at most); lines after it move down.
        let heatRows = heatAt == nil ? 0 : min(2, max(1, (heat.count + inner.width - 3) / max(1, inner.width - 2)))
        if let at = heatAt { lines.insert(contentsOf: Array(repeating: [], count: heatRows), at: at) }
        page.scroll = max(0, min(page.scroll, lines.count - inner.height))
        let area = Rect(x: inner.x + 1, y: inner.y, width: inner.width - 2, height: inner.height)
        Paragraph(lines, offset: page.scroll).render(in: area, on: &c)
        if let at = heatAt, at - page.scroll >= 0, at - page.scroll + heatRows <= area.height {
            Heatmap(heat, maximum: max(1, heat.max() ?? 1), levels: [t.dim, t.good, t.warn, t.bad])
                .render(in: Rect(x: area.x + 2, y: area.y + at - page.scroll, width: area.width - 2, height: heatRows), on: &c)
        }
    }

    func p2pmemLive(_ m: ExplorerModel, _ d: Device) -> Bool { m.topology.source.kind == .live && d.sysfs?.p2pmem != nil }
}
