import PCITopology

/// `enum pci_p2pdma_map_type`, the kernel's answer for a provider/client pair.
public enum MapType: String, Hashable, Sendable {
    case busAddr = "BUS_ADDR"
    case thruHostBridge = "THRU_HOST_BRIDGE"
    case notSupported = "NOT_SUPPORTED"
}

/// `nvidia-smi topo -m` path classes, for any vendor.
public enum PathClass: String, Hashable, Sendable {
    case same = "X"
    /// Through at most one PCIe switch (or only a shared bridge).
    case pix = "PIX"
    /// Through several bridges/switches, without a host bridge.
    case pxb = "PXB"
    /// Through one PCIe host bridge.
    case phb = "PHB"
    /// Between host bridges of one NUMA node.
    case node = "NODE"
    /// Across NUMA nodes.
    case sys = "SYS"
}

/// A root bus and the device the kernel inspects for it (`pci_host_bridge_dev`).
public struct HostBridge: Hashable, Sendable, CustomStringConvertible {
    public var domain: UInt32
    public var rootBus: UInt8
    /// First function on the root bus, if the kernel would accept it (00.0 or a Root Port).
    public var device: BDF?
    public var vendorID: UInt16?
    public var deviceID: UInt16?

    public var description: String {
        let ids = vendorID.map { " " + hex($0, width: 4) + ":" + hex(deviceID ?? 0, width: 4) } ?? ""
        return "\(hex(domain, width: 4)):\(hex(rootBus, width: 2))" + (device.map { " (\($0.short)\(ids))" } ?? " (no device)")
    }
}

/// How a pair that leaves the PCIe hierarchy was judged at the host bridge.
public enum HostBridgeRule: Hashable, Sendable {
    case amdZenCPU(CPUInfo)
    case allowlisted([AllowlistEntry])
    case rootComplexWhitelist
    case notAllowlisted([HostBridge])
    case needsSameHostBridge(AllowlistEntry)
    case noHostBridgeRoute(KernelVersion)

    public var allows: Bool {
        switch self {
        case .amdZenCPU, .allowlisted, .rootComplexWhitelist: return true
        default: return false
        }
    }
}

/// Everything the kernel's `calc_map_type_and_dist` decides for one ordered pair, and why.
public struct Verdict: Hashable, Sendable {
    public var provider: BDF
    public var client: BDF
    public var mapType: MapType
    /// Hop count as the kernel counts it (provider up to the common ancestor plus client up to
    /// it; with none, both depths; 4.20–5.3: 0x1000 + hops through the AMD root complex). nil
    /// where the kernel computes none: the old API's refusals (`kernelDistance` has its value).
    public var distance: Int?
    /// Devices on the path whose ACS Control has RR, CR or EC set, in the kernel's order.
    public var acsRedirect: [BDF]
    /// Devices on the path whose ACS state is unknown (config space unreadable without root).
    public var acsUnknown: [BDF]
    /// The nearest common ancestor (a bridge, or the provider/client itself), if any.
    public var commonUpstream: BDF?
    public var hostBridges: [HostBridge]
    public var hostBridgeRule: HostBridgeRule?
    public var pathClass: PathClass
    /// Provider → … → common ancestor → … → client.
    public var hops: [BDF]
    public var kernel: KernelVersion
    public var reason: String
    /// Pairs with the same reason text share this number (within one analyzer): renderers
    /// can escape each distinct text once.
    public var reasonID: Int = -1

    /// The number the kernel's own function returns: the distance, or for 4.20–5.3's
    /// `upstream_bridge_distance` -1 (no common upstream) and -2 (ACS redirect).
    public var kernelDistance: Int { distance ?? (acsRedirect.isEmpty ? -1 : -2) }

    /// `distance 3`, or `no distance` where the kernel computes none.
    public var distanceText: String { distance.map { "distance \($0)" } ?? "no distance (\(kernelDistance))" }
}
