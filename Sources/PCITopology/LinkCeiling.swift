/// How much payload one direction of a PCIe link can carry per second, layer by layer: the
/// signalling rate, line encoding (8b/10b to 5 GT/s, 128b/130b from 8 GT/s, FLIT at 64 GT/s),
/// the SKP ordered sets the physical layer inserts, and the bytes each TLP spends around its
/// payload (framing, sequence number, header, LCRC). What is left is the figure a DMA engine
/// can at best reach; a measured copy lands below it (the engines, the root complex and the
/// latency of reads are not a link's overhead).
///
/// DLLPs: the ACKs and flow-control updates for a direction's TLPs travel the *other* way, so a
/// stream of posted writes pays none on its own direction; for reads, the requests go the other
/// way and the completions carry the data, which is what `.readCompletion` counts.
public struct LinkCeiling: Hashable, Sendable {
    /// Which TLPs carry the data.
    public enum Transaction: String, Hashable, Sendable {
        /// Memory Write requests with a 4DW header (a 64-bit address, as P2P BARs above 4 GiB
        /// need): an NVMe read into a GPU's BAR, a GPU's peer copy.
        case write
        /// Completions with data (3DW header), each at most the smaller of the path's MPS and
        /// the requester's MRRS: a device reading a peer's BAR or host memory.
        case readCompletion = "read"
    }

    public var link: LinkState
    public var transaction: Transaction
    /// The largest payload a TLP carries on this path (DevCtl MPS, the smallest along it; for
    /// reads also capped by MRRS).
    public var payloadPerTLP: Int
    /// True when the MPS (and MRRS) were read from config space; false when they were not
    /// readable and the spec's reset value, 128 bytes, stands in.
    public var sizesKnown: Bool

    /// The reset value of Max_Payload_Size and Max_Read_Request_Size.
    public static let resetSize = 128

    public init?(link: LinkState, transaction: Transaction = .write, maxPayload: Int?, maxReadRequest: Int? = nil) {
        guard link.width > 0, link.speed.gts != nil else { return nil }
        self.link = link
        self.transaction = transaction
        let mps = maxPayload ?? LinkCeiling.resetSize
        let mrrs = maxReadRequest ?? LinkCeiling.resetSize
        payloadPerTLP = transaction == .write ? mps : min(mps, mrrs)
        sizesKnown = maxPayload != nil && (transaction == .write || maxReadRequest != nil)
    }

    var gts: Double { link.speed.gts ?? 0 }
    var flitMode: Bool { gts >= 64 }

    /// Raw signalling, bytes per second: GT/s × lanes / 8.
    public var signalling: Double { gts * 1e9 * Double(link.width) / 8 }

    /// After line encoding (the figure `LinkState.bytesPerSecond` gives).
    public var encoded: Double { link.bytesPerSecond ?? 0 }

    /// After the physical layer's ordered sets: one SKP ordered set at most every 370 blocks
    /// at 8 GT/s and above (one 130-bit block each), and every 1180 symbol times below (four
    /// symbols). In FLIT mode the 6 data-link bytes of each 256-byte flit are taken here instead:
    /// 236 of 256 bytes carry TLPs.
    public var afterOrderedSets: Double {
        if flitMode { return signalling * 236 / 256 }
        return encoded * (gts >= 8 ? 370.0 / 371.0 : 1180.0 / 1184.0)
    }

    /// Bytes one TLP spends besides its payload: the framing (STP and END symbols below 8 GT/s,
    /// a 4-byte STP token from 8 GT/s; none in a flit), the 2-byte sequence number and 4-byte
    /// LCRC (in a flit, its CRC covers them), and the header.
    public var overheadPerTLP: Int {
        let header = transaction == .write ? 16 : 12
        if flitMode { return header }
        return (gts >= 8 ? 4 : 2) + 2 + header + 4
    }

    /// The share of the link's TLP bytes that is payload.
    public var tlpEfficiency: Double { Double(payloadPerTLP) / Double(payloadPerTLP + overheadPerTLP) }

    /// What is left for data, bytes per second.
    public var payload: Double { afterOrderedSets * tlpEfficiency }

    /// `128b/130b, SKP, 26 B per 256 B TLP`: the layers counted, for a line of text.
    public var layersText: String {
        let encoding = flitMode ? "FLIT 236/256" : gts >= 8 ? "128b/130b" : "8b/10b"
        let sizes = sizesKnown ? "" : " (MPS not readable: \(LinkCeiling.resetSize) assumed)"
        return "\(encoding), SKP, \(overheadPerTLP) B per \(payloadPerTLP) B \(transaction == .write ? "write" : "completion") TLP" + sizes
    }
}

extension Topology {
    /// The smallest Max_Payload_Size among the functions given (the hops of a path), or nil
    /// when none of them exposes DevCtl.
    public func maxPayload(along bdfs: [BDF]) -> Int? {
        bdfs.compactMap { device($0)?.express?.maxPayload }.min()
    }

    /// The ceiling of a device's link to its upstream port: the MPS is the smaller of the two
    /// ends' (a TLP must fit both).
    public func linkCeiling(of d: Device, transaction: LinkCeiling.Transaction = .write) -> LinkCeiling? {
        guard let status = link(of: d)?.link.status else { return nil }
        var ends = [d.bdf]
        if let p = parent(d.bdf) { ends.append(p) }
        return LinkCeiling(link: status, transaction: transaction, maxPayload: maxPayload(along: ends),
                           maxReadRequest: d.express?.maxReadRequest)
    }
}
