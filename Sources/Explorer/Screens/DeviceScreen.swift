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
            if let ceiling = topology.linkCeiling(of: d) {
                row("carries", "≈ \(format1(ceiling.payload / 1e9)) GB/s payload each way" + (ceiling.sizesKnown ? " (MPS \(ceiling.payloadPerTLP))" : " (MPS assumed 128)"))
            }
        } else if d.capabilities.coverage == .unreadable {
            row("capabilities", "unknown (\(topology.source.configUnreadableShort))", t.warn)
        }
        if !d.capabilities.standard.isEmpty {
            row("capabilities", d.capabilities.standard.map { "[\(hex($0.offset, width: 2))] \(StandardCapabilityID.name($0.id))" }.joined(separator: " "), t.dim)
        }
        if !d.capabilities.extended.isEmpty {
            row("extended", d.capabilities.extended.map { "[\(hex($0.offset, width: 3))] \(ExtendedCapabilityID.name($0.id))" }.joined(separator: " "), t.dim)
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
        // Wide: identity on the left, the address space and the partners on the right.
        var left = lines
        lines = []
        if body.width < 120 { lines = left + [[]]; left = [] }
        lines.append([Span("BARs", t.title)])
        if d.bars.isEmpty && (topology.source.kind == .hwloc || topology.source.kind == .nccl) {
            lines.append([Span("  unknown (\(topology.source.configUnreadableShort): no BARs kept)", t.dim)])
        }
        for b in d.bars where b.upperHalfOf == nil || b.address != nil {
            let addr = b.address.map { "0x" + String($0, radix: 16) } ?? "unassigned"
            let kind = b.space == .io ? "I/O" : (b.is64Bit ? "64-bit" : "32-bit") + (b.prefetchable ? " pref" : "")
            lines.append([Span("  \(b.index)  ", t.dim), Span(addr.padded(16), t.text),
                          Span((b.size.map { ByteSize.text($0) } ?? d.resizableBARSize(of: b.index).map { ByteSize.text($0) + " (ReBAR)" } ?? "size ?").padded(10), t.accent), Span(kind, t.dim)])
        }
        if let br = d.bridge {
            lines.append([Span("bridge", t.title), Span("  buses \(hex(br.secondary, width: 2))-\(hex(br.subordinate, width: 2))", t.text)])
            // The address windows it forwards downstream (lspci's "Memory behind bridge").
            for w in br.windows {
                let span = w.isEnabled ? "0x" + String(w.base, radix: 16) + "-0x" + String(w.limit, radix: 16) : "disabled"
                lines.append([Span("  " + w.kind.rawValue.padded(14), t.dim), Span(span.padded(30), w.isEnabled ? t.text : t.dim),
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
        if d.bars.isEmpty && topology.source.kind != .hwloc && topology.source.kind != .nccl { lines.append([Span("  none", t.dim)]) }
        // The way up to the root port, hop by hop: each port's link and its ACS redirect bits.
        if !up.isEmpty {
            lines.append([])
            lines.append([Span("Upstream ports (toward the root)", t.title)])
            for b in up {
                guard let p = topology.device(b) else { continue }
                let acs = p.acs.map { a in a.control.isDisjoint(with: .p2pRedirect) ? "ACS: no redirect" : "ACS: redirects (\(a.control.lspciFlags))" } ?? "no ACS capability"
                lines.append([Span("  " + m.name(b).padded(12), t.accent), Span((p.link?.status?.text ?? "").padded(12), t.text),
                              Span(acs, p.acs.map { $0.control.isDisjoint(with: .p2pRedirect) } ?? true ? t.dim : t.bad)])
            }
        }
        if d.isBridge {
            let below = topology.children(d.bdf)
            lines.append([])
            lines.append([Span("Below (\(below.count))", t.title)])
            for b in below {
                guard let k = topology.device(b) else { continue }
                lines.append([Span("  " + m.name(b).padded(12), t.accent), Span((k.link?.status?.text ?? "").padded(12), t.text), Span(m.names.vendorDevice(k), t.dim)])
            }
        }
        let partners = P2PPartners(of: d.bdf, m)
        if partners.isEndpoint {
            lines.append([])
            lines.append([Span("P2P partners (\(partners.partners.count)): it provides, they DMA", t.title)])
            for q in partners.partners {
                let v = q.verdict
                let style = v.mapType == .busAddr ? t.good : v.mapType == .thruHostBridge ? t.warn : t.bad
                lines.append([Span("  " + m.name(q.bdf).padded(12), t.accent), Span(P2PPartners.code(v).padded(8), style),
                              Span(v.mapType.rawValue.padded(18), style), Span(v.distanceText, t.dim)])
            }
        }
        let area = Rect(x: body.x + 2, y: body.y + 1, width: body.width - 4, height: body.height - 2)
        if left.isEmpty {
            let folded = lines.flatMap { LineWrap.wrap($0, width: area.width, indent: 14) }
            page.scroll = max(0, min(page.scroll, folded.count - area.height))
            Paragraph(folded, offset: page.scroll).render(in: area, on: &c)
        } else {
            let (la, rest) = area.columns(area.width * 9 / 20)
            let ra = Rect(x: rest.x + 2, y: rest.y, width: rest.width - 2, height: rest.height)
            let l = left.flatMap { LineWrap.wrap($0, width: la.width - 1, indent: 14) }
            let r = lines.flatMap { LineWrap.wrap($0, width: ra.width, indent: 14) }
            page.scroll = max(0, min(page.scroll, max(l.count, r.count) - area.height))
            Paragraph(l, offset: page.scroll).render(in: la, on: &c)
            for y in area.y..<area.maxY { c.put("│", x: rest.x, y: y, t.border) }
            Paragraph(r, offset: page.scroll).render(in: ra, on: &c)
        }
    }
}
