import PCITopology

/// A client reaches a provider's memory only at bus addresses its DMA mask covers. Where the
/// pair's DMA uses the BAR's own bus address — BUS_ADDR, or through the host bridge with no
/// IOMMU to hand out an address below the mask — a client whose `dma_mask_bits` is narrower
/// than the BAR's end address cannot DMA there (the kernel maps it; the device cannot reach it).
public struct UnreachableBAR: Sendable, Equatable {
    public var client: BDF
    public var maskBits: Int
    public var provider: BDF
    public var bar: Int
    /// The BAR's last bus address.
    public var end: UInt64

    public var text: String {
        "\(client)'s DMA mask is \(maskBits) bits: it cannot address \(provider) BAR \(bar), which ends at 0x\(String(end, radix: 16))"
    }
}

extension P2PAnalyzer {
    /// The first memory BAR of `provider` (prefetchable first: where p2pmem and GPU memory
    /// live) above what `client`'s DMA mask covers, for a pair whose DMA uses bus addresses.
    public func unreachableBAR(provider: BDF, client: BDF, mapType: MapType) -> UnreachableBAR? {
        guard let bits = narrowMasks[client], mapType == .busAddr || (mapType == .thruHostBridge && !iommuPresent),
              let p = topology.device(provider) else { return nil }
        let limit: UInt64 = (1 << UInt64(bits)) - 1
        let bars = p.bars.filter { $0.space == .memory && $0.upperHalfOf == nil && !$0.isVirtual }.sorted { $0.prefetchable && !$1.prefetchable }
        for b in bars {
            guard let a = b.address, let s = b.size, s > 0 else { continue }
            let end = a &+ (s - 1)
            if end > limit { return UnreachableBAR(client: client, maskBits: bits, provider: provider, bar: b.index, end: end) }
        }
        return nil
    }
}

extension Doctor {
    /// Pairs of P2P endpoints (those the pair asked about) where the client cannot address the
    /// provider's BAR: one finding per client, naming the BARs.
    func reachabilityFindings(pair: Verdict?) -> [Finding] {
        guard !analyzer.narrowMasks.isEmpty else { return [] }
        let pairs: [(BDF, BDF, MapType)]
        if let v = pair { pairs = [(v.provider, v.client, v.mapType)] } else {
            let ends = analyzer.endpoints.filter { [.gpu, .nic, .nvme, .accelerator].contains(topology.kind($0.bdf)) }
            pairs = ends.flatMap { p in ends.compactMap { c in c.bdf == p.bdf ? nil : (p.bdf, c.bdf, analyzer.verdict(provider: p.bdf, client: c.bdf).mapType) } }
        }
        var byClient: [BDF: [UnreachableBAR]] = [:]
        for (p, c, m) in pairs { if let u = analyzer.unreachableBAR(provider: p, client: c, mapType: m) { byClient[c, default: []].append(u) } }
        return byClient.keys.sorted().map { c in
            let us = byClient[c]!
            return Finding(severity: .warning, code: "dma-mask-too-narrow", devices: [c] + us.map(\.provider),
                           message: "\(name(c))'s DMA mask is \(us[0].maskBits) bits: it cannot address " + us.map { "\(name($0.provider)) BAR \($0.bar) (ends at 0x\(String($0.end, radix: 16)))" }.joined(separator: ", ")
                               + "; its DMA there would fail though the kernel maps the pair",
                           remedy: "a driver that sets a wider mask (dma_set_mask_and_coherent(64)), firmware that places the BAR below 2^\(us[0].maskBits), or an IOMMU in DMA mode (the IOVA then fits the mask)")
        }
    }
}
