import P2PDMA
import PCITopology

/// A user mapping (`vm_area_struct`).
public final class VMA {
    public enum Kind {
        /// Anonymous host memory.
        case anonymous(BackingMemory)
        /// p2pmem/allocate: ZONE_DEVICE struct pages of a provider (VM_MIXEDMAP).
        case p2pmem(Provider, firstPage: Int)
        /// resourceN / VFIO BAR: VM_IO|VM_PFNMAP, no struct pages.
        case pfnmap(BDF, bar: Int, BackingMemory)
    }
    public let id: Int
    public let start: UInt64
    public let length: Int
    public let kind: Kind
    public internal(set) var zapped = false

    init(id: Int, start: UInt64, length: Int, kind: Kind) {
        self.id = id; self.start = start; self.length = length; self.kind = kind
    }

    /// Bytes of the mapping, for CPU access and for the simulated DMA.
    public func pointer(page: Int) -> UnsafeMutableRawPointer {
        switch kind {
        case .anonymous(let m): return m.pointer(page * PAGE_SIZE)
        case .p2pmem(let p, let first): return p.memory.pointer((first + page) * PAGE_SIZE)
        case .pfnmap(_, _, let m): return m.pointer(page * PAGE_SIZE)
        }
    }
}

/// A page returned by GUP: whose it is, and how it is held. The owner is held unretained
/// (the engine keeps providers and mappings alive while pages are held): no reference
/// counting per page on the pin path.
public struct PageRef {
    public enum Kind {
        case host(BackingMemory, Int)
        case p2p(Provider, Int)
    }
    let provider: Unmanaged<Provider>?
    let host: Unmanaged<BackingMemory>?
    public let index: Int
    public var pinned: Bool
    var vmaID: Int
    var vmaPage: Int

    init(p2p provider: Provider, _ index: Int, pinned: Bool, vmaID: Int, vmaPage: Int) {
        self.provider = Unmanaged.passUnretained(provider); host = nil
        self.index = index; self.pinned = pinned; self.vmaID = vmaID; self.vmaPage = vmaPage
    }

    init(host memory: BackingMemory, _ index: Int, pinned: Bool, vmaID: Int, vmaPage: Int) {
        provider = nil; host = Unmanaged.passUnretained(memory)
        self.index = index; self.pinned = pinned; self.vmaID = vmaID; self.vmaPage = vmaPage
    }

    public var kind: Kind {
        if let p = provider { return .p2p(p.takeUnretainedValue(), index) }
        return .host(host!.takeUnretainedValue(), index)
    }

    public var isP2PDMA: Bool { provider != nil }

    public var pointer: UnsafeMutableRawPointer {
        if let p = provider { return p._withUnsafeGuaranteedRef { $0.memory.pointer(index * PAGE_SIZE) } }
        return host!._withUnsafeGuaranteedRef { $0.pointer(index * PAGE_SIZE) }
    }
}

/// One scatter/gather entry: physically contiguous pages of one pgmap.
public struct SGSegment {
    public var first: PageRef
    public var length: Int

    func continues(with p: PageRef) -> Bool {
        guard p.index == first.index + length / PAGE_SIZE else { return false }
        if let a = first.provider, let b = p.provider { return a.toOpaque() == b.toOpaque() }
        if let a = first.host, let b = p.host { return a.toOpaque() == b.toOpaque() }
        return false   // never across pgmaps
    }
}

/// A mapped segment as the DMA engine of the client will address it.
public struct DMASegment {
    public var segment: SGSegment
    public var dmaAddress: UInt64
    /// `SG_DMA_BUS_ADDRESS`: a PCI bus address, not an IOVA.
    public var busAddress: Bool
}

/// A VFIO dma-buf export: BAR ranges with no struct pages.
public final class DmaBuf {
    public let device: BDF
    public let bar: Int
    public let barAddress: UInt64
    public let ranges: [(offset: UInt64, length: UInt64)]
    public let size: Int
    let memory: BackingMemory
    public internal(set) var revoked = false
    public internal(set) var attachments: [DmaBufAttachment] = []

    init(device: BDF, bar: Int, barAddress: UInt64, ranges: [(offset: UInt64, length: UInt64)], size: Int, memory: BackingMemory) {
        self.device = device; self.bar = bar; self.barAddress = barAddress; self.ranges = ranges; self.size = size; self.memory = memory
    }

    /// Bytes of the exported range at `offset` (within the first range).
    public func pointer(_ offset: Int) -> UnsafeMutableRawPointer { memory.pointer(Int(ranges[0].offset) + offset) }
}

public final class DmaBufAttachment {
    public let importer: BDF
    public let mapType: MapType
    public let dmaAddresses: [UInt64]
    public internal(set) var invalidated = false
    init(importer: BDF, mapType: MapType, dmaAddresses: [UInt64]) {
        self.importer = importer; self.mapType = mapType; self.dmaAddresses = dmaAddresses
    }
}
