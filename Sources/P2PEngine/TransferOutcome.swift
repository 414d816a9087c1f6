import P2PDMA
import PCITopology

/// What one transfer did — modelled by the engine, or real (O_DIRECT, RDMA loopback) — in
/// the one shape every caller reads: the CLI's text and `p2ptop.transfer/1`, the explorer's
/// Transfers screen, the lab's observations. Facts a kind of transfer does not have stay nil.
public struct TransferOutcome: Sendable {
    /// Where `seconds` comes from: the fabric model's clock (the same fabric gives the same
    /// numbers on any machine), the engine's own wall time (unthrottled), or a real transfer's.
    public enum RateSource: String, Sendable { case model, engine, measured }

    public var bytes = 0
    public var verified = false
    /// Verified, but the source was one byte value throughout (an empty disk, a sparse file):
    /// the bytes arrived, their order and placement were not really tested. Real reads only.
    public var uniformSource: UInt8?
    /// Time spent moving data (pin, map, DMA copy, unmap, unpin).
    public var seconds = 0.0
    /// Time spent checking every byte afterwards, on a clock that measures it (nil on the
    /// model's, which knows only the fabric's time).
    public var verifySeconds: Double?
    public var rateSource: RateSource = .engine
    /// The engine's own wall time moving the bytes, when `seconds` is the model's.
    public var engineSeconds: Double?
    /// The path's verdict and its bottleneck (modelled transfers; real ones are predicted apart).
    public var mapType: MapType?
    public var path: [BDF] = []
    public var bottleneck: (device: BDF, link: LinkState, bytesPerSecond: Double)?
    /// FOLL_PIN pins acquired and released while it ran, and held system-wide after.
    public var pinsAcquired = 0
    public var pinsReleased = 0
    public var pinsOutstandingAfter = 0
    /// The engine's counts are exact; the kernel's /proc/vmstat ones only after
    /// `vm/stat_refresh` (root), else off by up to a per-CPU batch per CPU.
    public var pinsExact = true
    /// `VmPin` growth (kB) while an RDMA memory region was registered: its long-term pins.
    public var registeredPinnedKB: Int?
    public var ios = 0
    /// The memory the transfer cycled through (modelled: at most `TransferRunner.maxWindow`).
    public var window = 0
    /// The RDMA device, port and GID table entry a real RDMA write used.
    public var rdmaDevice: String?
    public var rdmaPort: Int?
    public var gidIndex: Int?
    public var error: EngineError?
    /// What the engine still held afterwards (modelled transfers).
    public var leaks: Engine.Leaks?

    public init() {}

    /// Done and verified, or refused with `error`.
    public var ok: Bool { error == nil }
    public var gbps: Double { seconds > 0 ? Double(bytes) / seconds / 1e9 : 0 }
}
