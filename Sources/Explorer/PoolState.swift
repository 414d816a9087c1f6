import P2PEngine
import PCITopology

/// A p2pmem pool as the screens draw it: its size and what is free now, and the pins on each
/// stretch of its pages — from the running transfer into it, else the keyboard's engine
/// session, else what sysfs said when the topology was read.
struct PoolState {
    var size: Int
    var available: Int
    var published: Bool
    /// Pins per bucket of pages (at most 256 buckets); empty when nothing is known.
    var heat: [Int]
    /// The BAR the pool sits on, where the engine knows it.
    var bar: Int?
    /// Where the figures come from: "transfer", "engine" or "sysfs".
    var source: String
}

extension ExplorerModel {
    func pool(_ bdf: BDF) -> PoolState? {
        guard let sysfs = topology.device(bdf)?.sysfs?.p2pmem else { return nil }
        if let live = jobs.last(where: { $0.request.to == bdf })?.snapshot, live.poolSize > 0 {
            return PoolState(size: live.poolSize, available: live.poolAvailable, published: sysfs.published, heat: live.heat, bar: nil, source: "transfer")
        }
        if let p = actionSession?.engine.providers[bdf] {
            let buckets = 256, per = max(1, p.pageCount / buckets)
            let heat = (0..<min(buckets, p.pageCount)).map { b in (b * per..<min(p.pageCount, (b + 1) * per)).reduce(0) { $0 + p.pins($1) } }
            return PoolState(size: p.size, available: p.available, published: sysfs.published, heat: heat, bar: p.bar, source: "engine")
        }
        // The live machine: p2pmem/available as it is now (another process's allocations show).
        if topology.source.kind == .live, measuredRates == nil {
            tickTelemetry()
            let now = telemetry.lastReadings["p2pmem"]?.values
            if let size = now?["size{\(bdf)}"], let available = now?["available{\(bdf)}"] {
                return PoolState(size: Int(size), available: Int(available), published: sysfs.published, heat: [], bar: nil, source: "sysfs now")
            }
        }
        return PoolState(size: Int(sysfs.size), available: Int(sysfs.available), published: sysfs.published, heat: [], bar: nil, source: "sysfs")
    }

    /// What the keyboard's engine session holds on a function's BARs now: mappings (p2pmem or
    /// resourceN), pinned pages among them, dma-buf exports and their importers.
    func holdings(_ bdf: BDF) -> [String] {
        guard let s = actionSession else { return [] }
        var out: [String] = []
        for (name, vma, device) in s.maps where device == bdf {
            let kind: String
            switch vma.kind {
            case .p2pmem: kind = "p2pmem/allocate"
            case .pfnmap(_, let bar, _): kind = "resource\(bar)"
            case .anonymous: kind = "anonymous"
            }
            out.append("\(name): \(ByteSize.text(UInt64(vma.length))) mapped through \(kind)" + (vma.zapped ? " (zapped by the unbind)" : ""))
        }
        for (name, pages) in s.pins {
            guard let first = pages.first, case .p2p(let provider, _) = first.kind, provider.device == bdf else { continue }
            out.append("\(name): \(pages.count) pages pinned (FOLL_PIN: +\(GUP_PIN_COUNTING_BIAS) each on the page refcount)")
        }
        for (buf, att) in s.buffers where buf.device == bdf {
            out.append("dma-buf of BAR \(buf.bar), \(ByteSize.text(UInt64(buf.size)))" + (buf.revoked ? ", revoked" : "")
                       + (att.map { ", imported by \(name($0.importer)) as \($0.mapType.rawValue)" + ($0.invalidated ? " (invalidated)" : "") } ?? ", no importer"))
        }
        return out
    }
}
