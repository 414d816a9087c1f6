import P2PDMA
import PCISources
import PCITopology
import TerminalUI

/// The tree's side pane on a wide terminal: the selected function in brief — identity, driver
/// and NUMA node, its link against what it can carry (the payload ceiling, the rate measured
/// now), where it sits, and its P2P partners with the kernel's verdicts. A value, drawn from
/// the model each frame.
struct SidePane {
    func render(in a: Rect, on c: inout Canvas, _ m: ExplorerModel) {
        guard a.width > 20, let d = m.selectedDevice else { return }
        let t = m.theme, topology = m.topology
        var lines: [Line] = []
        func row(_ k: String, _ v: String, _ s: Style? = nil) { lines.append([Span(k.padded(10), t.dim), Span(v, s ?? t.text)]) }
        lines.append([Span(topology.alias(d.bdf).map { "\($0)  " } ?? "", t.accent.bold()), Span(d.bdf.description, t.title)])
        lines.append([Span(m.names.vendorDevice(d), t.text)])
        var what = topology.kind(d.bdf).tag
        if let f = d.sysfs {
            if let drv = f.driver { what += " · driver \(drv)" }
            if let n = f.numaNode { what += " · NUMA node \(n)" }
        }
        row("kind", what)
        if let l = d.link {
            let j = topology.linkJudgement(d.bdf)
            row("link", (l.status?.text ?? "?") + " of " + (j?.capability.text ?? l.capability.text), (j?.isDowntrained ?? false) ? t.warn : t.good)
            if let ceiling = topology.linkCeiling(of: d) {
                row("carries", "≈ \(format1(ceiling.payload / 1e9)) GB/s payload each way" + (ceiling.sizesKnown ? " (MPS \(ceiling.payloadPerTLP))" : " (MPS assumed 128)"))
                let measured = m.deviceRates()[d.bdf]
                if let r = measured {
                    let used = max(r.read, r.write) / max(1, ceiling.payload)
                    row("in use", "read \(format1(r.read / 1e9)) GB/s, write \(format1(r.write / 1e9)) GB/s (\(Int((used * 100).rounded()))% of the busier way)", used > 0.8 ? t.warn : t.text)
                } else {
                    row("in use", "no rate measured here", t.dim)
                }
            }
        }
        let up = topology.upstreamPath(d.bdf)
        row("upstream", up.isEmpty ? "root bus" : up.map { topology.alias($0) ?? $0.short }.joined(separator: " → "))
        if let p = d.sysfs?.p2pmem { row("p2pmem", "\(ByteSize.text(p.size)), \(ByteSize.text(p.available)) available", t.good) }
        if let a = d.acs { row("ACSCtl", a.control.lspciFlags, a.control.isDisjoint(with: .p2pRedirect) ? t.text : t.bad) }
        if let br = d.bridge { row("buses", "\(hex(br.secondary, width: 2))-\(hex(br.subordinate, width: 2)), \(topology.children(d.bdf).count) below") }
        lines.append([])
        let p = P2PPartners(of: d.bdf, m)
        if !p.isEndpoint {
            lines.append([Span("P2P partners", t.title)])
            lines.append([Span("none: not a P2P endpoint (GPU, accelerator, NIC, NVMe, storage or p2pmem provider)", t.dim)])
        } else {
            lines.append([Span("P2P partners (\(p.partners.count)): it provides, they DMA", t.title)])
            if p.partners.isEmpty { lines.append([Span("none: no other P2P endpoint", t.dim)]) }
            var rows: [Line] = p.partners.map { q in
                let v = q.verdict
                let style = v.mapType == .busAddr ? t.good : v.mapType == .thruHostBridge ? t.warn : t.bad
                return [Span("  " + m.name(q.bdf).padded(9) + " ", t.accent), Span(P2PPartners.code(v).padded(7), style),
                        Span(v.mapType.rawValue.padded(17), style), Span(v.distance.map { "distance \($0)" } ?? "", t.dim)]
            }
            let legend = LineWrap.wrap([Span("B BUS_ADDR · H THRU_HOST_BRIDGE · - refused; PIX PXB PHB NODE SYS as in nvidia-smi topo -m", t.dim)], width: a.width)
            let head = lines.flatMap { LineWrap.wrap($0, width: a.width, indent: 2) }
            // The list gives way to the legend; what did not fit is counted, never cut.
            let room = a.height - head.count - legend.count
            if rows.count > room, room >= 1 {
                let more = rows.count - (room - 1)
                rows = Array(rows.prefix(room - 1)) + [[Span("  … and \(more) more (screen 3, the matrix)", t.dim)]]
            }
            Paragraph(head + rows + legend).render(in: a, on: &c)
            return
        }
        let folded = lines.flatMap { LineWrap.wrap($0, width: a.width, indent: 2) }
        Paragraph(folded).render(in: a, on: &c)
    }
}
