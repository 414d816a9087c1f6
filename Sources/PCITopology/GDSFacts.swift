/// What GPUDirect Storage's (and hipFile's) kernel P2PDMA mode depends on beyond the PCIe
/// topology and the kernel config: the GPU driver, the NVMe driver's multipath setting, and
/// what sits between a file and the drive (md RAID, NVMe over Fabrics). Read at the edge
/// (`PCISources.HostProbe.gdsFacts`) from the running machine or a captured root; judged by
/// `P2PDMA.GDSReadiness`.
public struct GDSFacts: Hashable, Sendable {
    /// NVIDIA's kernel module as it describes itself.
    public struct NVIDIADriver: Hashable, Sendable {
        /// `/sys/module/nvidia/version`, e.g. `570.86.15`.
        public var version: String?
        /// `/proc/driver/nvidia/version` says "Open Kernel Module" (true) or not (false); nil
        /// when that file could not be read.
        public var openKernelModule: Bool?
        /// `RegistryDwords` of `/proc/driver/nvidia/params`, as `key → value` (keys lowercased:
        /// the driver matches them without case); nil when the file could not be read.
        public var registryDwords: [String: String]?

        public init(version: String? = nil, openKernelModule: Bool? = nil, registryDwords: [String: String]? = nil) {
            self.version = version; self.openKernelModule = openKernelModule; self.registryDwords = registryDwords
        }

        /// The driver branch, `570` of `570.86.15`.
        public var branch: Int? { version.flatMap { v in Int(v.prefix { $0.isASCII && $0.isNumber }.prefix(5)) } }
    }

    /// `nvme_core`'s native multipath (`/sys/module/nvme_core/parameters/multipath`).
    public enum Multipath: String, Hashable, Sendable {
        case on, off
        /// nvme_core is there but has no `multipath` parameter: built without CONFIG_NVME_MULTIPATH.
        case notBuilt = "not-built"
        case unknown
    }

    /// nil: no `nvidia` module loaded (`/sys/module/nvidia` absent).
    public var nvidia: NVIDIADriver?
    public var multipath: Multipath
    /// Block devices that are members of an md array (`sys/block/mdN/slaves`): member → array.
    public var mdMembers: [String: String]
    /// NVMe controllers on a fabric transport (`sys/class/nvme/nvmeN/transport` not `pcie`):
    /// controller → transport (`tcp`, `rdma`, `fc`, `loop`).
    public var fabricControllers: [String: String]

    public init(nvidia: NVIDIADriver? = nil, multipath: Multipath = .unknown, mdMembers: [String: String] = [:],
                fabricControllers: [String: String] = [:]) {
        self.nvidia = nvidia; self.multipath = multipath; self.mdMembers = mdMembers; self.fabricControllers = fabricControllers
    }

    /// `RMForceStaticBar1=1;RmForceDisableIomapWC=1;` → `[rmforcestaticbar1: 1, rmforcedisableiomapwc: 1]`;
    /// the quotes /proc/driver/nvidia/params puts around it are dropped. At most 64 entries.
    public static func registryDwords(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        let body = text.trimmingCharactersEqual(to: "\"")
        for entry in body.split(separator: ";").prefix(64) {
            let kv = entry.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            let key = kv[0].filter { !$0.isWhitespace }.lowercased()
            guard !key.isEmpty, key.count <= 64 else { continue }
            out[key] = String(kv[1].filter { !$0.isWhitespace }.prefix(32))
        }
        return out
    }
}

extension String {
    /// The string without leading and trailing spaces and the given character.
    func trimmingCharactersEqual(to c: Character) -> String {
        var s = Substring(self)
        while let f = s.first, f == c || f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == c || l == " " || l == "\t" || l == "\n" { s = s.dropLast() }
        return String(s)
    }
}
