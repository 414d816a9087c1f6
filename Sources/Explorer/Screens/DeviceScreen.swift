import PCISources
import PCITopology
import Telemetry
import TerminalUI

extension ScreenID { static let device = ScreenID("Device") }

/// Screen 2: everything known about the selected function — identity, driver, NUMA and IOMMU,
/// link, ACS, Resizable BAR, SR-IOV, RDMA ports, BARs, bridge windows and, where NVML answers,
/// the GPU's PCIe throughput and BAR1 use. Keys move the tree's selection; the wheel scrolls.
final class DeviceScreen: ExplorerScreen {
    let id = ScreenID.device
    var page = SelectionPage()
    var scroll: Int { page.scroll }

    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction { page.handle(key, m) }

    func click(x: Int, y: Int, button: Int, _ m: ExplorerModel) -> ExplorerAction { page.wheel(button); return .none }

    func command(_ m: ExplorerModel) -> String { SelectionPage.command("show", m) }

    func render(in body: Rect, on c: inout Canvas, _ m: ExplorerModel) {
        let t = m.theme, topology = m.topology
        guard let d = m.selectedDevice else { return }
        let alias = topology.alias(d.bdf).map { " (\($0))" } ?? ""
        Block(title: "\(d.bdf)\(alias)", style: t.border, titleStyle: t.title).render(in: body, on: &c)
        var lines: [Line] = []
        func row(_ k: String, _ v: String, _ s: Style? = nil) { lines.append([Span(k.padded(14), t.dim), Span(v, s ?? t.text)]) }
        row("name", m.names.vendorDevice(d))
        row("kind", topology.kind(d.bdf).tag)
        row("class", "\(m.names.className(d)) [\(hex(d.classCode, width: 4))]")
        row("ids", "\(hex(d.vendorID, width: 4)):\(hex(d.deviceID, width: 4)) rev \(hex(d.revision, width: 2))")
        let up = topology.upstreamPath(d.bdf)
        row("upstream", up.isEmpty ? "root bus" : up.map { topology.alias($0) ?? $0.short }.joined(separator: " → "))
        if let f = d.sysfs {
            // A file that records no drivers (hwloc, NCCL) says so: unknown, never "none".
            let file = topology.source.kind == .hwloc || topology.source.kind == .nccl
            let unknown = "unknown (\(topology.source.configUnreadableShort))"
            row("driver", f.driver ?? (file ? unknown : "none"))
            if !f.osDevices.isEmpty { row("os devices", f.osDevices.map { "\($0.name) (\($0.kind.rawValue))" }.joined(separator: ", ")) }
            row("numa / iommu", "\(f.numaNode.map(String.init) ?? "?") / \(f.iommuGroup.map { "group \($0)" } ?? (file ? "unknown" : "none"))\(f.iommuType.map { " (\($0))" } ?? "")")
            if let p = f.p2pmem {
                row("p2pmem", "\(ByteSize.text(p.size)) total, \(ByteSize.text(p.available)) available, " + (p.published ? "published" : "not published"), t.good)
            }
        }
        if let l = d.link {
            let j = topology.linkJudgement(d.bdf)
            let of = j.map { j in j.limitedByPartner ? "\(j.capability.text) (card \(j.device.text), port above \(j.partner!.text))" : j.capability.text } ?? l.capability.text
            row("link", (l.status?.text ?? "?") + " of " + of, (j?.isDowntrained ?? false) ? t.warn : t.good)
        } else if d.capabilities.coverage == .unreadable {
            row("capabilities", "unknown (\(topology.source.configUnreadableShort))", t.warn)
        }
        if let a = d.acs {
            row("ACSCtl", a.control.lspciFlags, a.control.isDisjoint(with: .p2pRedirect) ? t.text : t.bad)
        }
        for r in d.capabilities.resizableBARs { row("ReBAR", "BAR \(r.barIndex): \(ByteSize.text(r.currentSize)) of up to \(ByteSize.text(r.largestSize))") }
        if let s = d.capabilities.sriov { row("SR-IOV", "\(s.numVFs)/\(s.totalVFs) VFs") }
        for r in m.rdma?.devices ?? [] where r.pciAddress == d.bdf.description {
            for p in r.ports {
                row("RDMA", "\(r.name) port \(p.number) \(p.state?.name ?? "?") \(p.rate?.text ?? "rate unknown") \(p.linkLayer.rawValue)",
                    p.state == .active ? t.good : t.warn)
            }
        }
        lines.append([])
        lines.append([Span("BARs", t.title)])
        if d.bars.isEmpty && (topology.source.kind == .hwloc || topology.source.kind == .nccl) {
            lines.append([Span("  unknown (\(topology.source.configUnreadableShort): no BARs kept)", t.dim)])
        }
        for b in d.bars where b.upperHalfOf == nil || b.address != nil {
            let addr = b.address.map { "0x" + String($0, radix: 16) } ?? "unassigned"
            let kind = b.space == .io ? "I/O" : (b.is64Bit ? "64-bit" : "32-bit") + (b.prefetchable ? " pref" : "")
            lines.append([Span("  \(b.index)  ", t.dim), Span(addr.padded(16), t.text),
                          Span((b.size.map { ByteSize.text($0) } ?? "size ?").padded(10), t.accent), Span(kind, t.dim)])
        }
        if let br = d.bridge {
            lines.append([Span("bridge", t.title), Span("  buses \(hex(br.secondary, width: 2))-\(hex(br.subordinate, width: 2))", t.text)])
            // The address windows it forwards downstream (lspci's "Memory behind bridge").
            for w in br.windows {
                let span = w.isEnabled ? "0x" + String(w.base, radix: 16) + "-0x" + String(w.limit, radix: 16) : "disabled"
                lines.append([Span("  " + w.kind.rawValue.padded(14), t.dim), Span(span.padded(36), w.isEnabled ? t.text : t.dim),
                              Span(w.isEnabled ? ByteSize.text(w.size) + (w.is64Bit ? " 64-bit" : "") : "", t.accent)])
            }
        }
        if topology.kind(d.bdf) == .gpu, let why = m.gpuCounters?.unavailable {
            lines.append([])
            lines.append([Span("GPU counters".padded(14), t.dim), Span(why + ": PCIe throughput and BAR1 use unknown", t.dim)])
        }
        for g in m.gpuCounters?.sample() ?? [] where BDF(g.busID) == d.bdf {
            lines.append([])
            lines.append([Span("NVML", t.title)])
            let pcie = [g.rxBytesPerSecond.map { "RX \(rateText($0))" }, g.txBytesPerSecond.map { "TX \(rateText($0))" }].compactMap { $0 }
            lines.append([Span("  PCIe".padded(14), t.dim), Span(pcie.isEmpty ? "throughput unknown (NVML did not say)" : pcie.joined(separator: "  "), t.text)])
            if let used = g.bar1Used, let total = g.bar1Total {
                lines.append([Span("  BAR1".padded(14), t.dim), Span("\(ByteSize.text(used)) of \(ByteSize.text(total)) mapped", used > total / 10 * 9 ? t.warn : t.text)])
            } else {
                lines.append([Span("  BAR1".padded(14), t.dim), Span("unknown (NVML did not say)", t.dim)])
            }
        }
        page.scroll = max(0, min(page.scroll, lines.count - (body.height - 2)))
        Paragraph(lines, offset: page.scroll).render(in: Rect(x: body.x + 2, y: body.y + 1, width: body.width - 4, height: body.height - 2), on: &c)
    }
}
