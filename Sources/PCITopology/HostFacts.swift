/// What the running kernel and this process allow, beyond the PCIe topology: read from procfs
/// and sysfs at the edge (`PCISources.HostProbe.facts`), judged by `P2PDMA`'s `Doctor.hostFindings`.
public struct HostFacts: Hashable, Sendable {
    /// `CONFIG_PCI_P2PDMA` as far as it can be told.
    public enum P2PDMAConfig: Hashable, Sendable {
        /// `=y` in the kernel config (file named), or p2pmem directories exist (their count).
        case enabled(evidence: String)
        /// `# CONFIG_PCI_P2PDMA is not set` in the named config file.
        case disabled(file: String)
        /// No config file to read and no provider to prove it.
        case unknown(why: String)
    }

    public var p2pdma: P2PDMAConfig
    /// The config file that says `# CONFIG_PCI_P2PDMA is not set`, if one does.
    public var p2pdmaOffFile: String? { if case .disabled(let file) = p2pdma { return file }; return nil }
    /// IOMMU units under /sys/class/iommu (`dmar0`, `ivhd0`); empty = no IOMMU active.
    public var iommuUnits: [String]
    /// The domain type of the first IOMMU group (`identity`, `DMA`, `DMA-FQ`, `blocked`).
    public var iommuDefaultDomain: String?
    /// IOMMU and P2P related kernel parameters (`iommu=pt`, `intel_iommu=on`, `pci=disable_acs_redir=…`).
    public var cmdlineFlags: [String]
    /// `none`, `integrity`, `confidentiality`; nil where the kernel has no lockdown LSM.
    public var lockdown: String?
    public var iomemStrict: Bool
    /// RLIMIT_MEMLOCK in bytes; nil = unlimited.
    public var memlockSoft: UInt64?
    public var memlockHard: UInt64?
    /// CAP_IPC_LOCK in the effective set: RDMA registrations ignore RLIMIT_MEMLOCK.
    public var capIPCLock: Bool
    /// RDMA devices under /sys/class/infiniband.
    public var rdmaDevices: [String]

    public init(p2pdma: P2PDMAConfig, iommuUnits: [String] = [], iommuDefaultDomain: String? = nil, cmdlineFlags: [String] = [],
                lockdown: String? = nil, iomemStrict: Bool = false, memlockSoft: UInt64? = nil, memlockHard: UInt64? = nil,
                capIPCLock: Bool = false, rdmaDevices: [String] = []) {
        self.p2pdma = p2pdma; self.iommuUnits = iommuUnits; self.iommuDefaultDomain = iommuDefaultDomain
        self.cmdlineFlags = cmdlineFlags; self.lockdown = lockdown; self.iomemStrict = iomemStrict
        self.memlockSoft = memlockSoft; self.memlockHard = memlockHard; self.capIPCLock = capIPCLock; self.rdmaDevices = rdmaDevices
    }
}
