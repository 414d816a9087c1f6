/// One GPU's PCIe counters as its vendor library reports them: throughput over the library's
/// own short window, and the BAR1 aperture (what peers and NICs map of its memory). nil where
/// the library does not say — never 0 for unknown.
public struct GPUCounters: Sendable, Equatable {
    /// The PCI address as `domain:bus:device.function`.
    public var busID: String
    public var name: String?
    /// Bytes per second the GPU receives over PCIe (peers or the host writing into it).
    public var rxBytesPerSecond: Double?
    /// Bytes per second the GPU sends over PCIe.
    public var txBytesPerSecond: Double?
    public var bar1Used: UInt64?
    public var bar1Total: UInt64?

    public init(busID: String, name: String? = nil, rxBytesPerSecond: Double? = nil, txBytesPerSecond: Double? = nil,
                bar1Used: UInt64? = nil, bar1Total: UInt64? = nil) {
        self.busID = busID; self.name = name
        self.rxBytesPerSecond = rxBytesPerSecond; self.txBytesPerSecond = txBytesPerSecond
        self.bar1Used = bar1Used; self.bar1Total = bar1Total
    }
}

/// Where GPU counters come from (NVML on a machine with NVIDIA's driver; a fake in tests).
public protocol GPUCounterSource: AnyObject {
    /// Why there are no GPU counters (library absent, init failed), said once; nil when there are.
    var unavailable: String? { get }
    func sample() -> [GPUCounters]
}
