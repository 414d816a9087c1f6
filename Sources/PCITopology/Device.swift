/// Facts about a function that only the operating system knows (Linux sysfs), or that a
/// snapshot recorded. Every field is optional: a dump knows none of them.
public struct SysfsFacts: Hashable, Sendable {
    public var driver: String?
    public var numaNode: Int?
    /// The CPUs local to the function (`local_cpulist`, e.g. `0-21,44-65`): nvidia-smi's
    /// "CPU Affinity".
    public var localCPUs: String?
    public var iommuGroup: Int?
    /// `DMA`, `DMA-FQ`, `identity`, `blocked`, `unmanaged` (iommu_group/type).
    public var iommuType: String?
    public var currentLinkSpeed: String?
    public var currentLinkWidth: Int?
    public var maxLinkSpeed: String?
    public var maxLinkWidth: Int?
    public var p2pmem: P2PMem?
    /// `dma_mask_bits`: the widest bus address the function's driver lets it DMA to (1–64).
    public var dmaMaskBits: Int?
    /// Indices N for which `resourceN` exists, and for which `resourceN_wc` exists.
    public var resourceFiles: [Int] = []
    public var resourceWCFiles: [Int] = []
    /// AER counters by file (`aer_dev_correctable` …) and counter name.
    public var aerCounters: [String: [String: UInt64]] = [:]
    /// BAR bases and sizes as the kernel reports them (`resource`), by region index 0…5.
    public var resources: [OSResource]?
    /// For an SR-IOV virtual function: its physical function (`physfn` link).
    public var physfn: BDF?
    /// What the OS built on this function: block devices, network interfaces, RDMA devices,
    /// DRM nodes, NVMe controllers (as lstopo's OS devices).
    public var osDevices: [OSDevice] = []
    /// The link's bandwidth as hwloc states it (`pci_link_speed`, GB/s: lanes × each lane's
    /// rate after encoding), for sources that give no speed and width apart; nil elsewhere.
    public var statedLinkGBps: Double?
    /// What stands in for a function the source does not name (NCCL's placeholder switches,
    /// the root complexes p2ptop draws for NCCL's CPUs): shown instead of a vendor's name.
    public var placeholder: String?

    public init() {}
}

/// An operating-system device that sits on a PCI function (`nvme0n1`, `ens3`, `mlx5_0`, `card0`).
public struct OSDevice: Hashable, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case block, net, openfabrics, gpu, nvme
        /// hwloc's DMA engines and co-processors (`cuda0`, `opencl0d0`): lstopo lists them.
        case dma, coproc
    }
    public var kind: Kind
    public var name: String
    public init(kind: Kind, name: String) { self.kind = kind; self.name = name }
}

/// `/sys/bus/pci/devices/*/p2pmem/`: what a p2pdma provider published.
public struct P2PMem: Hashable, Sendable {
    public var size: UInt64
    public var available: UInt64
    public var published: Bool
    public init(size: UInt64, available: UInt64, published: Bool) {
        self.size = size; self.available = available; self.published = published
    }
}

/// One PCI function: its raw config space, everything decoded from it, and OS facts.
public struct Device: Hashable, Sendable {
    public var bdf: BDF
    public var config: ConfigSpace
    public var sysfs: SysfsFacts?

    // Identity, decoded from the header.
    public var vendorID: UInt16
    public var deviceID: UInt16
    public var classCode: UInt16       // base class << 8 | subclass
    public var progIf: UInt8
    public var revision: UInt8
    public var headerType: UInt8       // without the multi-function bit
    public var isMultiFunction: Bool
    public var subsystemVendorID: UInt16?
    public var subsystemID: UInt16?

    public var bars: [BAR]
    public var bridge: BridgeInfo?
    public var capabilities: Capabilities

    /// Decodes everything from raw bytes (pure); `sysfs` adds the OS view.
    public init(bdf: BDF, config: ConfigSpace, sysfs: SysfsFacts? = nil) {
        self.bdf = bdf
        self.config = config
        self.sysfs = sysfs
        vendorID = config.h16(Reg.vendorID)
        deviceID = config.h16(Reg.deviceID)
        classCode = config.h16(Reg.classDevice)
        progIf = config.h8(Reg.progIf)
        revision = config.h8(Reg.revision)
        let rawHeader = config.h8(Reg.headerType)
        headerType = rawHeader & 0x7f
        isMultiFunction = rawHeader & 0x80 != 0
        switch headerType {
        case 0:
            subsystemVendorID = config.u16(Reg.subsystemVendor)
            subsystemID = config.u16(Reg.subsystemID)
        case 2:
            subsystemVendorID = config.u16(Reg.cardbusSubsystemVendor)
            subsystemID = config.u16(Reg.cardbusSubsystemID)
        default:
            subsystemVendorID = nil
            subsystemID = nil
        }
        bars = BARDecoder.decode(config, headerType: rawHeader, os: sysfs?.resources)
        bridge = BridgeDecoder.decode(config, headerType: rawHeader)
        capabilities = CapabilityWalker.walk(config, headerType: rawHeader)
    }

    public var baseClass: UInt8 { UInt8(classCode >> 8) }

    /// A PCI-to-PCI or CardBus bridge that forwards to a secondary bus (lspci -t's notion).
    public var isBridge: Bool { baseClass == 0x06 && (headerType == 1 || headerType == 2) }

    public var express: PCIExpress? { capabilities.express }
    public var link: Link? { capabilities.express?.link }
    public var acs: ACS? { capabilities.acs }
}

extension Device {
    /// A BAR's size where the source did not record it (a dump has no sysfs `resource`), yet
    /// the function's own Resizable BAR control says it: the size the BAR is set to now.
    public func resizableBARSize(of bar: Int) -> UInt64? {
        capabilities.resizableBARs.first { $0.barIndex == bar && !$0.isVF && $0.currentSize > 0 }?.currentSize
    }
}
