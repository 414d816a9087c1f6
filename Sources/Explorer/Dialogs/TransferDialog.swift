import P2PEngine
import PCITopology
import TerminalUI

/// The transfer editor: ←/→ the first device, ↑/↓ the second (host memory is one of the
/// choices), m the method, + and - the size; Enter starts it on the model.
final class TransferDialog: ExplorerDialog {
    var request: TransferRequest

    init(_ request: TransferRequest) { self.request = request }

    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction {
        let choices: [BDF?] = [nil] + m.analyzer.endpoints.map { Optional($0.bdf) }
        // One end never becomes the other: stepping passes over the device the other end holds.
        func step(_ current: BDF?, _ by: Int, other: BDF?) -> BDF? {
            var i = choices.firstIndex { $0 == current } ?? 0
            for _ in 0..<choices.count {
                i = (i + by + choices.count) % choices.count
                if choices[i] != other { return choices[i] }
            }
            return current
        }
        switch key {
        case .enter: return m.startTransfer(request) ? .closeAndShow(.transfers) : .close
        case .escape, .character("q"): return .close
        case .left: request.from = step(request.from, -1, other: request.to)
        case .right: request.from = step(request.from, 1, other: request.to)
        case .up: request.to = step(request.to, -1, other: request.from)
        case .down: request.to = step(request.to, 1, other: request.from)
        case .character("m"):
            let all = TransferMethod.allCases
            request.method = all[((all.firstIndex(of: request.method) ?? 0) + 1) % all.count]
        case .character("+"): request.size = min(request.size * 2, 1 << 40)
        case .character("-"): request.size = max(request.size / 2, 1 << 20)
        default: break
        }
        return .none
    }

    /// What each side is, for the method (as `p2ptop transfer --help` says).
    static func roles(_ m: TransferMethod) -> (from: String, to: String, via: String) {
        switch m {
        case .odirect: return ("the NVMe doing the read", "the memory it lands in (p2pmem or host)", "O_DIRECT: FOLL_PIN | FOLL_PCI_P2PDMA per I/O")
        case .rdma: return ("the RDMA NIC", "the memory it registers", "ibv_reg_mr: FOLL_PIN | FOLL_LONGTERM, no FOLL_PCI_P2PDMA")
        case .dmabuf: return ("the RDMA NIC", "the device whose BAR is exported", "VFIO dma-buf + ibv_reg_dmabuf_mr: no struct pages, no pins")
        case .zerocopy: return ("the memory sent (p2pmem or host)", "the NIC sending it", "MSG_ZEROCOPY: page references without FOLL_PCI_P2PDMA")
        case .cpu: return ("the memory copied from", "the BAR written through resourceN", "CPU MMIO copy: no DMA, no pins")
        }
    }

    /// Where a chosen end is not what the method needs there (nvme0 as rdma's NIC): the line
    /// that says so, since the roles are the method's, not the devices'.
    static func misfit(_ r: TransferRequest, _ m: ExplorerModel) -> String? {
        func kind(_ b: BDF?) -> DeviceKind? { b.map { m.topology.kind($0) } }
        func name(_ b: BDF?) -> String { m.name(b) }
        switch r.method {
        case .odirect where kind(r.from) != .nvme && kind(r.from) != .storage:
            return "\(name(r.from)) is not a drive: O_DIRECT needs the NVMe that reads as from"
        case .rdma where kind(r.from) != .nic, .dmabuf where kind(r.from) != .nic:
            return "\(name(r.from)) is not an RDMA NIC: \(r.method.rawValue) needs one as from"
        case .zerocopy where kind(r.to) != .nic:
            return "\(name(r.to)) is not a NIC: MSG_ZEROCOPY needs the one sending as to"
        case .cpu where r.to == nil:
            return "host memory has no BAR: the CPU copy writes through a device's resourceN"
        default:
            return nil
        }
    }

    func face(in screenArea: Rect, _ m: ExplorerModel) -> DialogFace {
        let r = request, t = m.theme
        let roles = Self.roles(r.method)
        let verdict = r.from.flatMap { f in r.to.map { m.analyzer.verdict(provider: $0, client: f) } }
        let lines: [Line] = [
            [Span("from   ", t.dim), Span(m.name(r.from).padded(10), t.accent), Span("  \(roles.from)   ←/→", t.dim)],
            [Span("to     ", t.dim), Span(m.name(r.to).padded(10), t.accent), Span("  \(roles.to)   ↑/↓", t.dim)],
            [Span("size   ", t.dim), Span("\(ByteSize.text(UInt64(r.size))) in \(r.block >> 20) MiB I/Os, queue depth \(r.queueDepth)", t.text), Span("   +/-", t.dim)],
            [Span("via    ", t.dim), Span(r.method.rawValue, t.accent), Span(" — \(roles.via)   m", t.text)],
            [Span("path   ", t.dim), Span(verdict.map { "\($0.mapType.rawValue), \($0.pathClass.rawValue)" } ?? "host memory: no peer path", t.good)],
            Self.misfit(r, m).map { [Span("note   ", t.dim), Span($0, t.warn)] } ?? [],
            [Span("Enter", t.accent), Span(" starts it   "), Span("Esc", t.accent), Span(" cancels   (\(m.transferCommand(r)))", t.dim)],
        ]
        return .box(Dialog(title: "Start a transfer", lines: lines, style: t.text, border: t.border))
    }

    func command(_ m: ExplorerModel) -> String? { m.transferCommand(request) }
}
