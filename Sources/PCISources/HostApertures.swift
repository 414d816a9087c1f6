import LinuxFiles
import PCITopology

/// The root buses' MMIO apertures from `/proc/iomem` (`PCI Bus 0000:00`): live and as root
/// only (without root the kernel shows zeros), so "where known".
public enum HostApertures {
    /// The apertures of the root bus above `d`, as (base, size).
    public static func read(_ t: Topology, _ d: Device, iomem path: String = "/proc/iomem") -> [(base: UInt64, size: UInt64)] {
        guard t.source.kind == .live, let text = FileIO.readString(path) else { return [] }
        return parse(text, rootBus: t.upstreamPath(d.bdf).last ?? d.bdf)
    }

    /// The top-level `/proc/iomem` ranges named for `rootBus`'s bus.
    public static func parse(_ text: String, rootBus top: BDF) -> [(base: UInt64, size: UInt64)] {
        let name = "PCI Bus \(hex(top.domain, width: 4)):\(hex(top.bus, width: 2))"
        var out: [(base: UInt64, size: UInt64)] = []
        for line in text.split(separator: "\n") where !line.hasPrefix(" ") && line.hasSuffix(" : " + name) {
            let range = line.split(separator: " ").first?.split(separator: "-") ?? []
            guard range.count == 2, let lo = UInt64(range[0], radix: 16), let hi = UInt64(range[1], radix: 16), hi > lo else { continue }
            out.append((lo, hi - lo + 1))
        }
        return out
    }
}
