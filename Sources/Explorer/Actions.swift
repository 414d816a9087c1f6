import P2PDMA
import P2PEngine
import PCITopology
import TerminalUI

/// Engine actions from the keyboard, on a session engine owned by the UI thread. Each action
/// is confirmed in a dialog and echoed as the scenario line that does the same headless.
public final class ActionSession {
    let engine: Engine
    var maps: [(name: String, vma: VMA, device: BDF)] = []
    var pins: [(name: String, pages: [PageRef])] = []
    var buffers: [(buf: DmaBuf, attachment: DmaBufAttachment?)] = []
    var counter = 0
    public private(set) var log: [String] = []

    init(engine: Engine) { self.engine = engine }

    func next(_ prefix: String) -> String { counter += 1; return "\(prefix)\(counter)" }
    func record(_ line: String) { log.append(line); if log.count > 50 { log.removeFirst() } }
}

public enum Action: Sendable {
    case map(BDF), pin, unpin, unbind(BDF), export(BDF, importer: BDF), revoke
    /// The kernel's question for `P` in the lab: an O_DIRECT read by `client` into the last
    /// mapping — pin the pages, then dma_map_sg them for the client (refused: EREMOTEIO, and
    /// the failed I/O releases its pins).
    case pinForDMA(client: BDF)

    var title: String {
        switch self {
        case .map: return "Map memory"
        case .pin, .pinForDMA: return "Pin pages"
        case .unpin: return "Unpin pages"
        case .unbind: return "Unbind provider"
        case .export: return "Export a dma-buf"
        case .revoke: return "Revoke the dma-buf"
        }
    }
}

extension ExplorerModel {
    func makeSession() -> ActionSession? {
        if let s = actionSession { return s }
        // On the live machine the model runs beside the kernel (its prediction), when the
        // kernel's side is on; otherwise the live machine has no model actions.
        guard topology.source.kind != .live || kernel != nil, let e = try? Engine(topology: topology, analyzer: analyzer) else { return nil }
        let s = ActionSession(engine: e)
        actionSession = s
        return s
    }

    /// What the action would do, in words and as a scenario line.
    func describe(_ a: Action) -> (String, String) {
        let n = { (b: BDF) in self.topology.alias(b) ?? b.short }
        switch a {
        case .map(let d):
            if topology.device(d)?.sysfs?.p2pmem != nil {
                return ("mmap 1 MiB of \(n(d))'s p2pmem/allocate (struct pages: pinnable with FOLL_PCI_P2PDMA)", "map m kind=p2pmem device=\(n(d)) size=1M")
            }
            let bar = topology.device(d)?.bars.filter { $0.space == .memory }.max { ($0.size ?? 0) < ($1.size ?? 0) }?.index ?? 0
            return ("mmap \(n(d))'s BAR \(bar) through resource\(bar) (VM_IO|VM_PFNMAP: no struct pages)", "map m kind=resource device=\(n(d)) bar=\(bar)")
        case .pin: return ("pin_user_pages(256 pages, FOLL_PIN|FOLL_PCI_P2PDMA|FOLL_WRITE) on the last mapping", "pin p map=m pages=256 flags=PIN|PCI_P2PDMA|WRITE")
        case .pinForDMA(let c): return ("an O_DIRECT read by \(n(c)) into the last mapping: pin_user_pages(256 pages, FOLL_PIN|FOLL_PCI_P2PDMA|FOLL_WRITE), then dma_map_sg for \(n(c))",
                                        "pin p map=m pages=256 flags=PIN|PCI_P2PDMA|WRITE; dmamap pin=p client=\(n(c))")
        case .unpin: return ("unpin_user_pages() the last pinned range", "unpin p")
        case .unbind(let d): return ("unbind \(n(d))'s driver: zap mappings, then wait while pages are pinned", "unbind device=\(n(d))")
        case .export(let d, let i): return ("VFIO dma-buf export of 1 MiB of \(n(d))'s largest BAR, imported by \(n(i))", "export b device=\(n(d)) bar=1 size=1M")
        case .revoke: return ("revoke the last dma-buf: importers are invalidated", "revoke b")
        }
    }

    func perform(_ a: Action) {
        guard let s = makeSession() else { message = "actions run on a modelled machine: start p2ptop with --fabric NAME"; return }
        let e = s.engine
        let (_, line) = describe(a)
        do {
            switch a {
            case .map(let d):
                let v: VMA
                if e.providers[d] != nil { v = try e.mmapP2PMem(d, length: 1 << 20) } else {
                    let bar = topology.device(d)?.bars.filter { $0.space == .memory }.max { ($0.size ?? 0) < ($1.size ?? 0) }?.index ?? 0
                    v = try e.mmapResource(d, bar: bar)
                }
                s.maps.append((s.next("m"), v, d))
                message = "scenario: \(line) → ok (\(v.length >> 10) KiB mapped)"
            case .pin:
                guard let m = s.maps.last(where: { !$0.vma.zapped }) else { message = "map something first (m)"; return }
                let pages = try e.getUserPages(m.vma.start, pages: min(256, m.vma.length / 4096), flags: [.PIN, .PCI_P2PDMA, .WRITE])
                s.pins.append((s.next("p"), pages))
                message = "scenario: \(line) → \(pages.count) pages pinned (+\(pages.count * 1024) on their refcounts)"
            case .pinForDMA(let client):
                guard let m = s.maps.last(where: { !$0.vma.zapped }) else { message = "map something first (m)"; return }
                let pages = try e.getUserPages(m.vma.start, pages: min(256, m.vma.length / 4096), flags: [.PIN, .PCI_P2PDMA, .WRITE])
                do {
                    let mapped = try e.dmaMap(e.buildSG(pages), client: client)
                    s.pins.append((s.next("p"), pages))
                    let kind = mapped.first.map { $0.busAddress ? "bus addresses" : "IOVA/physical addresses" } ?? "nothing"
                    message = "scenario: \(line) → \(pages.count) pages pinned, mapped for \(name(client)) (\(kind)); held while the I/O runs"
                } catch let err {
                    // The block layer fails the I/O and unpins what it pinned: nothing stays held.
                    e.putUserPages(pages)
                    message = "scenario: \(line) → \(err.errno.description): \(err.message); the I/O fails and its \(pages.count) pins are released (0 held)"
                    s.record(line + " → " + err.errno.name)
                    return
                }
            case .unpin:
                guard let p = s.pins.popLast() else { message = "nothing pinned"; return }
                e.putUserPages(p.pages)
                message = "scenario: \(line) → \(p.pages.count) pages released"
                if let pending = pendingUnbind, case .done = e.finishUnbind(pending) { message! += "; the unbind of \(pending.short) completes"; pendingUnbind = nil }
            case .unbind(let d):
                switch try e.unbind(d) {
                case .done: message = "scenario: \(line) → done: the provider is gone"
                case .waiting(let n, _):
                    pendingUnbind = d
                    message = "scenario: \(line) → waiting: \(n) pinned page(s) hold memunmap_pages (unpin with U)"
                }
            case .export(let d, let importer):
                let bar = topology.device(d)?.bars.filter { $0.space == .memory }.max { ($0.size ?? 0) < ($1.size ?? 0) }?.index ?? 0
                let buf = try e.exportDmabuf(d, bar: bar, ranges: [(0, 1 << 20)])
                let att = try? e.attach(buf, importer: importer)
                s.buffers.append((buf, att))
                message = "scenario: \(line) → exported; " + (att.map { "\($0.mapType.rawValue) for the importer" } ?? "attach refused")
            case .revoke:
                guard let b = s.buffers.popLast() else { message = "no dma-buf exported (x)"; return }
                let n = e.revoke(b.buf)
                e.release(b.buf)
                message = "scenario: \(line) → \(n) importer(s) invalidated"
            }
            s.record(line + " → ok")
        } catch let err {   // the engine throws EngineError only (typed throws)
            message = "scenario: \(line) → \(err.errno.description): \(err.message)"
            s.record(line + " → " + err.errno.name)
        }
    }
}
