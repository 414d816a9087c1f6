import PCITopology
import TerminalUI

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension ExplorerApp {
    /// Screen 6: the selected function's BARs inside the windows of every bridge above it, each
    /// drawn to scale (log or linear, `l`) against the outermost window, with the p2pmem pool and
    /// Resizable BAR sizes — why a 64 GiB BAR does not fit, which BAR memory is in use.
    func renderBarMap(_ body: Rect, _ c: inout Canvas) {
        guard let d = selectedDevice else { return }
        let alias = topology.alias(d.bdf).map { " (\($0))" } ?? ""
        Block(title: "BARs of \(d.bdf)\(alias) within the windows above it · \(barsLinear ? "linear" : "log") scale (l)",
              style: theme.border, titleStyle: theme.title).render(in: body, on: &c)
        let inner = body.inner
        let windows = topology.windowsAbove(d.bdf)
        let bars = d.bars.filter { $0.space == .memory && ($0.upperHalfOf == nil || $0.address != nil) }
        let largest = max(windows.map(\.window.size).max() ?? 0, bars.compactMap(\.size).max() ?? 0, 1)
        let barWidth = max(10, min(40, inner.width - 50))
        func scaled(_ size: UInt64) -> Int {
            guard size > 0 else { return 0 }
            let r = barsLinear ? Double(size) / Double(largest) : log2(Double(size)) / log2(Double(max(largest, 2)))
            return max(1, min(barWidth, Int((r * Double(barWidth)).rounded())))
        }
        func gauge(_ size: UInt64) -> String { String(repeating: "█", count: scaled(size)) + String(repeating: "·", count: barWidth - scaled(size)) }
        var lines: [Line] = []
        var depth = 0, last: BDF?
        for (b, w) in windows {
            if b != last { depth += 1; last = b }
            let who = (topology.alias(b) ?? "") + " " + b.short
            let kind = w.kind == .memory ? "mem" : w.kind.rawValue
            lines.append([Span(String(repeating: " ", count: depth * 2) + who.padded(16) + kind.padded(13), theme.dim),
                          Span(gauge(w.size), theme.accent), Span(" " + sizeText(w.size).padded(6), theme.text),
                          Span(" 0x" + String(w.base, radix: 16), theme.dim)])
        }
        if windows.isEmpty {
            let why = topology.source.kind == .fabric ? "no bridge windows in this demo fabric" : "no windows known above it"
            lines.append([Span("  " + why, theme.dim)])
        }
        let above = topology.upstreamPath(d.bdf).first
        let own = windows.filter { $0.bridge == above && $0.window.kind != .io }.map(\.window)
        for b in bars {
            let kind = (b.is64Bit ? "64-bit" : "32-bit") + (b.prefetchable ? " pref" : "")
            var line: Line = [Span(String(repeating: " ", count: (depth + 1) * 2) + "BAR \(b.index)".padded(16) + kind.padded(13), theme.text)]
            if let size = b.size {
                line += [Span(gauge(size), theme.good), Span(" " + sizeText(size).padded(6), theme.text)]
            } else {
                line.append(Span("size unknown (\(topology.source.kind == .dump ? "not in the dump" : "no sysfs"))", theme.dim))
            }
            if let a = b.address { line.append(Span(" 0x" + String(a, radix: 16), theme.dim)) } else { line.append(Span(" unassigned", theme.warn)) }
            if let a = b.address, let size = b.size, !own.isEmpty, !own.contains(where: { a >= $0.base && a &+ size &- 1 <= $0.limit }) {
                line.append(Span("  outside its bridge's windows", theme.bad))
            }
            lines.append(line)
        }
        if let p = d.sysfs?.p2pmem {
            let used = p.size - p.available
            lines.append([])
            lines.append([Span("p2pmem pool  ", theme.title), Span("\(sizeText(p.size)) on BAR, \(sizeText(used)) allocated, \(sizeText(p.available)) free",
                                                                    p.published ? theme.good : theme.warn),
                          Span(p.published ? "  published" : "  not published", theme.dim)])
        }
        for r in d.capabilities.resizableBARs where !r.isVF {
            let narrowest = windows.filter { $0.window.kind == .prefetchable }.map(\.window).min { $0.size < $1.size }
            var text = "Resizable BAR \(r.barIndex): \(sizeText(r.currentSize)) now, up to \(sizeText(r.largestSize))"
            if let n = narrowest {
                let fits = r.supportedSizes.filter { $0 <= n.size }.max()
                text += "; the narrowest prefetchable window above (\(sizeText(n.size))) holds " + (fits.map { "at most \(sizeText($0))" } ?? "none of them")
            }
            lines.append([Span(text, r.currentSize < r.largestSize ? theme.warn : theme.dim)])
        }
        Paragraph(lines).render(in: Rect(x: inner.x + 1, y: inner.y, width: inner.width - 2, height: inner.height), on: &c)
    }
}
