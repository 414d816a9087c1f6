import PCITopology

/// A function's BARs inside the address windows above it: the host bridge's apertures (where
/// the machine tells them), each bridge's enabled windows outermost first, each BAR and whether
/// it lies outside the windows of the bridge just above, and how far each Resizable BAR could
/// grow within the narrowest prefetchable window. `p2ptop bars` and the BAR map both draw it.
public struct BARLayout: Sendable {
    public struct Window: Sendable, Equatable {
        /// nil: the host bridge's aperture.
        public var bridge: BDF?
        /// `aperture`, `mem`, `prefetchable` or `io`.
        public var kind: String
        public var base: UInt64
        public var size: UInt64
        /// Nesting: 1 for the outermost owner, one more for each bridge below it.
        public var depth: Int
        public init(bridge: BDF?, kind: String, base: UInt64, size: UInt64, depth: Int = 0) {
            self.bridge = bridge; self.kind = kind; self.base = base; self.size = size; self.depth = depth
        }
        public var last: UInt64 { base &+ size &- 1 }
    }

    public struct Placement: Sendable {
        public var bar: BAR
        /// The bridge just above whose memory windows do not hold this BAR (nil: inside, or unknown).
        public var outsideOf: BDF?
    }

    public struct Growth: Sendable {
        public var rebar: ResizableBAR
        /// The narrowest prefetchable bridge window above, and the largest supported size it holds.
        public var narrowest: Window?
        public var largestThatFits: UInt64?
    }

    public var device: BDF
    public var windows: [Window]
    public var bars: [Placement]
    public var growth: [Growth]
    /// The BARs' nesting, one below the innermost window.
    public var barDepth: Int

    /// `memoryOnly`: leave I/O BARs out (the BAR map draws memory).
    public init(_ t: Topology, _ d: Device, apertures: [Window] = [], memoryOnly: Bool = false) {
        device = d.bdf
        var all = apertures.map { w in var w = w; w.depth = 1; return w }
        var depth = all.isEmpty ? 0 : 1, last: BDF?? = all.isEmpty ? .none : .some(nil)
        for (b, w) in t.windowsAbove(d.bdf) {
            if last == nil || last! != b { depth += 1; last = .some(b) }
            all.append(Window(bridge: b, kind: w.kind == .memory ? "mem" : w.kind.rawValue, base: w.base, size: w.size, depth: depth))
        }
        windows = all
        barDepth = depth + 1
        let above = t.upstreamPath(d.bdf).first
        let own = all.filter { $0.bridge != nil && $0.bridge == above && $0.kind != "io" }
        bars = d.bars.filter { ($0.upperHalfOf == nil || $0.address != nil) && (!memoryOnly || $0.space == .memory) }.map { b in
            guard let a = b.address, let size = b.size, b.space == .memory, !own.isEmpty,
                  !own.contains(where: { a >= $0.base && a &+ size &- 1 <= $0.last }) else { return Placement(bar: b, outsideOf: nil) }
            return Placement(bar: b, outsideOf: above)
        }
        let narrowest = all.filter { $0.bridge != nil && $0.kind == "prefetchable" }.min { $0.size < $1.size }
        growth = d.capabilities.resizableBARs.filter { !$0.isVF }.map { r in
            Growth(rebar: r, narrowest: narrowest, largestThatFits: narrowest.flatMap { n in r.supportedSizes.filter { $0 <= n.size }.max() })
        }
    }
}
