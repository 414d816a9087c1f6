import PCITopology

/// `pci_p2pdma_distance_many()` and `pci_p2pmem_find_many()`: which p2pmem provider the kernel
/// hands a set of clients (nvmet's choice for an RDMA NIC and its NVMe namespaces).
public struct ProviderChoice: Sendable {
    /// One published provider: the summed distance to every client, or why it cannot serve them.
    public struct Candidate: Sendable {
        public var provider: BDF
        public var distance: Int?
        public var refusedBy: Verdict?
        public var poolBytes: UInt64
    }
    public var clients: [BDF]
    public var considered: [Candidate]
    /// Those at the minimum distance: the kernel picks one of them uniformly at random.
    public var closest: [BDF]
    public var distance: Int?
}

extension P2PAnalyzer {
    /// The summed distance, or nil (-1) with no clients or when any pair is NOT_SUPPORTED — the
    /// verdict of the first such pair says why.
    public func distanceMany(provider: BDF, clients: [BDF]) -> (distance: Int?, refusedBy: Verdict?) {
        guard !clients.isEmpty else { return (nil, nil) }
        var total = 0
        for c in clients {
            let v = verdict(provider: provider, client: c)
            guard v.mapType != .notSupported, let d = v.distance else { return (nil, v) }
            total += d
        }
        return (total, nil)
    }

    /// Every device with a published pool (and, as the newest kernels require, a non-empty one),
    /// scored; the closest kept (at most 512, one page of pointers), as `pci_p2pmem_find_many`.
    public func p2pmemFindMany(clients: [BDF]) -> ProviderChoice {
        var considered: [ProviderChoice.Candidate] = []
        for d in topology.devices {
            guard let pool = d.sysfs?.p2pmem, pool.published, pool.size > 0 else { continue }
            let (distance, refused) = distanceMany(provider: d.bdf, clients: clients)
            considered.append(.init(provider: d.bdf, distance: distance, refusedBy: refused, poolBytes: pool.size))
        }
        let best = considered.compactMap(\.distance).min()
        let closest = best.map { b in considered.filter { $0.distance == b }.prefix(512).map(\.provider) } ?? []
        return ProviderChoice(clients: clients, considered: considered, closest: Array(closest), distance: best)
    }
}
