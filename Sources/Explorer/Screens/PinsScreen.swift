import PCISources
import PCITopology
import Telemetry
import TerminalUI

extension ScreenID { static let pins = ScreenID("Pins") }

/// Screen 4: every p2pmem pool with its pages by live pin count, the kernel's FOLL_PIN
/// counters from /proc/vmstat, and the processes holding pinned or locked pages (VmPin, VmLck
/// from /proc/PID/status) as a table `s` sorts by the column under the cursor.
final class PinsScreen: ExplorerScreen {
    let id = ScreenID.pins
    var holders = TableState()
    /// Where the holders table was drawn last.
    var tableArea = Rect(x: 0, y: 0, width: 0, height: 0)
    static let columns = [TableColumn("PID", width: 8, numeric: true), TableColumn("COMMAND", width: 18),
                          TableColumn("VmPin", width: 10, numeric: true), TableColumn("VmLck", width: 10, numeric: true)]

    init() { holders.sortColumn = 2; holders.descending = true; holders.cursorColumn = 2 }

    var help: [(keys: String, what: String)] {
        [("← → s", "tables (pins, transfers): the column under the cursor; s sorts by it, again reverses")]
    }

    /// The holders shown last (their count bounds the selection).
    var holderCount = 0

    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction {
        holders.handle(key, columns: PinsScreen.columns, count: holderCount)
        return .none
    }

    func click(x: Int, y: Int, button: Int, _ m: ExplorerModel) -> ExplorerAction {
        holders.click(x: x, y: y, button: button, area: tableArea, columns: PinsScreen.columns, count: holderCount)
        return .none
    }

    func command(_ m: ExplorerModel) -> String { "p2ptop watch" }

    /// The holders from the VmPin sampler's readings: `vmpin_kb{comm[pid]}`, `vmlck_kb{…}`.
    static func holderRows(_ values: [String: Double], _ t: Theme) -> [TableRow] {
        var rows: [String: (pin: Double, lck: Double)] = [:]
        for (key, v) in values {
            for (prefix, isPin) in [("vmpin_kb{", true), ("vmlck_kb{", false)] where key.hasPrefix(prefix) && key.hasSuffix("}") {
                let who = String(key.dropFirst(prefix.count).dropLast())
                if isPin { rows[who, default: (0, 0)].pin = v } else { rows[who, default: (0, 0)].lck = v }
            }
        }
        return rows.map { who, v in
            // "comm[pid]": the pid in brackets at the end.
            let open = who.lastIndex(of: "[")
            let pid = open.map { String(who[who.index(after: $0)...].dropLast()) } ?? ""
            let comm = open.map { String(who[..<$0]) } ?? who
            return TableRow(cells: [Span(pid, t.dim), Span(comm, t.text), Span("\(Int(v.pin)) kB", v.pin > 0 ? t.warn : t.dim), Span("\(Int(v.lck)) kB", t.dim)],
                            keys: [Int(pid).map { .number(Double($0)) } ?? .unknown, .text(comm), .number(v.pin), .number(v.lck)])
        }.sorted { $0.cells[0].text < $1.cells[0].text }
    }

    func render(in body: Rect, on c: inout Canvas, _ m: ExplorerModel) {
        let t = m.theme
        Block(title: "Pins — BAR pages of each p2pmem pool by live pin count", style: t.border, titleStyle: t.title).render(in: body, on: &c)
        let inner = body.inner
        var y = inner.y
        let providers = m.topology.devices.filter { $0.sysfs?.p2pmem != nil }
        if providers.isEmpty {
            c.put("no p2pmem provider in this topology", x: inner.x, y: y, t.dim, clip: inner)
            if let h = m.hostFacts {
                y += 1
                let off: Bool
                if case .disabled = h.p2pdma { off = true } else { off = false }
                c.put("kernel: " + h.p2pdmaSummary, x: inner.x, y: y, off ? t.warn : t.dim, clip: inner)
            }
            y += 2
        }
        for d in providers {
            guard let pool = m.pool(d.bdf), y < inner.maxY - 6 else { continue }
            let used = pool.size - pool.available
            c.put("\(m.name(d.bdf)) \(d.bdf.short)  pool \(pool.size >> 20) MiB · \(used >> 20) MiB in use · \(pool.available >> 20) MiB available" + (pool.published ? " · published" : ""),
                  x: inner.x, y: y, t.text, clip: inner)
            y += 1
            // Two meters: the pool's bytes allocated, and the pins its pages hold.
            let meter = min(40, max(16, (inner.width - 4) / 2))
            Gauge(ratio: Double(used) / Double(max(1, pool.size)), label: "in use \(Int((Double(used) * 100 / Double(max(1, pool.size))).rounded()))%", filled: t.warn, empty: t.dim)
                .render(in: Rect(x: inner.x, y: y, width: meter, height: 1), on: &c)
            let heat = pool.heat
            let pins = heat.reduce(0, +), pinned = heat.filter { $0 > 0 }.count
            if !heat.isEmpty && inner.width >= meter * 2 + 2 {
                Gauge(ratio: Double(pinned) / Double(heat.count), label: "\(pins) pins held", filled: t.bad, empty: t.dim)
                    .render(in: Rect(x: inner.x + meter + 2, y: y, width: meter, height: 1), on: &c)
            }
            y += 1
            if !heat.isEmpty {
                let rows = min(4, max(1, (heat.count + inner.width - 1) / max(1, inner.width)))
                Heatmap(heat, maximum: max(1, heat.max() ?? 1), levels: [t.dim, t.good, t.warn, t.bad])
                    .render(in: Rect(x: inner.x, y: y, width: inner.width, height: rows), on: &c)
                y += rows
            }
            let cell = heat.isEmpty ? "" : "each cell \(ByteSize.text(UInt64(pool.size / heat.count))) of the pool: "
            let legend = heat.isEmpty ? "page pins unknown here (\(pool.source)): the pool's pages are not tracked" : cell + "· no pins  ░ ▒ ▓ █ more pins (most in a cell: \(heat.max() ?? 0))"
            for l in LineWrap.wrap([Span(legend, t.dim)], width: inner.width) { Paragraph([l]).render(in: Rect(x: inner.x, y: y, width: inner.width, height: 1), on: &c); y += 1 }
            y += 1
        }
        // The kernel's own counters, from this machine's /proc/vmstat, folded at words.
        m.tickTelemetry()
        var counters: [Line] = []
        if let p = m.telemetry.lastReadings["pins"], p.stale == nil {
            let rate = m.telemetry.series["pins.vmstat_acquired"]?.rate.map { ", +\(Int($0))/s" } ?? ""
            let bound = p.values["bound"].map { " (± \(Int($0)): per-CPU batches)" } ?? " (approximate: per-CPU batches)"
            counters.append([Span("this machine: ", t.title), Span("nr_foll_pin_acquired ≈\(Int(p.values["vmstat_acquired"] ?? 0)), nr_foll_pin_released ≈\(Int(p.values["vmstat_released"] ?? 0)), outstanding ≈\(Int(p.values["outstanding"] ?? 0))\(rate)\(bound)", t.text)])
        } else {
            counters.append([Span("this machine: ", t.title), Span(m.telemetry.stale["pins"] ?? "no pin counters", t.dim)])
        }
        if let s = m.actionSession {
            counters.append([Span("actions: engine pins outstanding \(s.engine.vmstat.outstanding); " + (s.log.suffix(2).joined(separator: "; ")), t.accent)])
        }
        for l in counters.flatMap({ LineWrap.wrap($0, width: inner.width, indent: 14) }) where y < inner.maxY - 2 {
            Paragraph([l]).render(in: Rect(x: inner.x, y: y, width: inner.width, height: 1), on: &c); y += 1
        }
        // Outstanding pins over time, once there is a history to draw.
        if let history = m.telemetry.series["pins.outstanding"]?.values, history.count > 1, y < inner.maxY - 3 {
            c.put("outstanding ", x: inner.x, y: y, t.dim, clip: inner)
            Sparkline(history, style: t.warn).render(in: Rect(x: inner.x + 12, y: y, width: min(inner.width - 12, 60), height: 1), on: &c)
            y += 1
        }
        let rows = PinsScreen.holderRows(m.telemetry.lastReadings["vmpin"]?.values ?? [:], t)
        holderCount = rows.count
        let total = m.telemetry.lastReadings["vmpin"]?.values["total_vmpin_kb"]
        c.put("processes holding pinned or locked pages" + (total.map { " · VmPin in all \(Int($0)) kB" } ?? ""), x: inner.x, y: y + 1, t.title, clip: inner)
        tableArea = Rect(x: inner.x, y: y + 2, width: inner.width, height: inner.maxY - y - 2)
        if rows.isEmpty {
            c.put("none: no process has VmPin or VmLck above 0" + (m.telemetry.lastReadings["vmpin"] == nil ? " (no /proc here)" : ""), x: inner.x, y: y + 2, t.dim, clip: inner)
        } else {
            Table(columns: PinsScreen.columns, rows: rows, header: t.dim, highlight: t.selection).render(in: tableArea, on: &c, state: &holders)
        }
    }
}
