import P2PDMA
import PCITopology

/// How fast the simulated fabric lets data move: every PCIe link has a capacity per
/// direction (its `LinkCeiling`: speed × width after encoding and protocol overhead); concurrent transfers share each link
/// max-min fairly (progressive filling), and a transfer runs at its share of its tightest link.
public enum FabricModel {
    /// What one I/O costs beyond its bytes — command submission, the device's completion and
    /// the interrupt — overlapped `queueDepth` at a time (an NVMe command's round trip on a
    /// fast drive is in the tens of microseconds; 10 µs keeps small-block transfers honest).
    public static let perIOSeconds = 10e-6

    /// One direction of the link between a device and its upstream port.
    public struct LinkKey: Hashable, Sendable {
        public var device: BDF
        public var upstream: Bool   // data flowing towards the root
    }

    /// The links a transfer crosses, with their capacities in bytes per second: for each
    /// device on the path (below the common ancestor), the link to its upstream port — which
    /// only upstream-facing functions describe (endpoints, switch upstream ports, bridges);
    /// a root port's or downstream port's own LnkSta is the same wire seen from above, and the
    /// hop from a downstream port to its switch's upstream port is internal to the switch.
    public static func links(_ v: Verdict, in t: Topology, dataFromProvider: Bool) -> [(LinkKey, Double)] {
        var out: [(LinkKey, Double)] = []
        var providerSide = true
        for b in v.hops {
            if b == v.commonUpstream { providerSide = false; continue }
            defer { if v.commonUpstream == nil && t.parent(b) == nil { providerSide = false } }
            guard let c = ceiling(b, v, in: t) else { continue }
            out.append((LinkKey(device: b, upstream: providerSide == dataFromProvider), c.payload))
        }
        return out
    }

    /// The payload a hop's link carries for this pair: its LnkSta after encoding, ordered sets
    /// and TLP overhead, with the smallest MPS on the whole path (every port forwards the TLP).
    /// The data moves as posted writes (the DMA master writing into the peer's memory).
    public static func ceiling(_ b: BDF, _ v: Verdict, in t: Topology) -> LinkCeiling? {
        guard let s = uplink(b, v, in: t) else { return nil }
        return LinkCeiling(link: s, transaction: .write, maxPayload: t.maxPayload(along: v.hops))
    }

    /// A hop's link to its upstream port (its own LnkSta): none at the common ancestor or on a
    /// root bus, and none for root and downstream ports, whose LnkSta is the wire below them
    /// (shown at the device there) — the hop from a downstream port up is inside its switch.
    /// The one rule for which hops carry a link: the fabric model's and `p2ptop path`'s.
    public static func uplink(_ b: BDF, _ v: Verdict, in t: Topology) -> LinkState? {
        guard b != v.commonUpstream, let d = t.device(b), t.parent(b) != nil else { return nil }
        switch d.express?.portType {
        case .rootPort?, .downstreamPort?: return nil
        default: return d.link?.status
        }
    }

    /// Max-min fair rates for flows over shared links (progressive filling).
    public static func fairRates(_ flows: [[LinkKey]], capacity: [LinkKey: Double]) -> [Double] {
        var rates = [Double](repeating: 0, count: flows.count)
        var frozen = [Bool](repeating: false, count: flows.count)
        var remaining = capacity
        for (i, f) in flows.enumerated() where f.isEmpty { frozen[i] = true; rates[i] = .infinity }
        while frozen.contains(false) {
            // The tightest link: least remaining capacity per unfrozen flow crossing it.
            var best: (LinkKey, Double)? = nil
            for (link, cap) in remaining {
                let n = flows.indices.filter { !frozen[$0] && flows[$0].contains(link) }.count
                guard n > 0 else { continue }
                let share = cap / Double(n)
                if best == nil || share < best!.1 { best = (link, share) }
            }
            guard let (link, share) = best else { break }
            for i in flows.indices where !frozen[i] && flows[i].contains(link) {
                rates[i] = share
                frozen[i] = true
                for l in flows[i] { remaining[l, default: 0] -= share }
            }
            remaining[link] = nil
        }
        return rates
    }
}

extension FabricModel {
    /// The slowest link on the path provider → client: where it is, its state, its bytes/s.
    public static func bottleneck(_ v: Verdict, in t: Topology) -> (BDF, LinkState, Double)? {
        links(v, in: t, dataFromProvider: true)
            .compactMap { key, bw in t.device(key.device)?.link?.status.map { (key.device, $0, bw) } }
            .min { $0.2 < $1.2 }
    }
}
