import PCITopology

/// One check of `doctor --gds`: what was found, where it was read, what to change.
public struct GDSCheck: Hashable, Sendable {
    public enum Status: String, Hashable, Sendable, Comparable {
        case fail, warn, unknown, pass
        public static func < (a: Status, b: Status) -> Bool { a.order < b.order }
        var order: Int { switch self { case .fail: 0; case .warn: 1; case .unknown: 2; case .pass: 3 } }
    }

    public var id: String
    public var status: Status
    public var detail: String
    /// Where the fact came from: a file, a register, a document.
    public var source: String
    public var remedy: String?
}

/// GPUDirect Storage (NVIDIA, `gdscheck -p`) and hipFile (AMD) readiness in the kernel's P2PDMA
/// mode, per GPU ↔ NVMe pair: the checks their documentation lists, each judged from the facts
/// a source has, and the pair's verdict from the kernel's rules. The NVMe drive is the DMA
/// master (it reads into or writes from the GPU's BAR), so the GPU is the provider.
public struct GDSReadiness: Sendable {
    public enum Stack: String, Sendable { case gds = "GPUDirect Storage", hipFile = "hipFile" }

    public struct Pair: Sendable {
        public var gpu: BDF
        public var nvme: BDF
        public var stack: Stack
        public var verdict: Verdict
        /// The pair's own checks (GPU generation, the drive's md membership, the verdict).
        public var checks: [GDSCheck]
        /// The machine-wide checks that apply to this pair's stack.
        public var hostChecks: [GDSCheck]
        /// No check of either list fails and none is unknown: true; one fails: false; none
        /// fails but some cannot be told from this source: nil.
        public var ready: Bool? {
            let all = checks + hostChecks
            if all.contains(where: { $0.status == .fail }) { return false }
            return all.contains { $0.status == .unknown } ? nil : true
        }
    }

    /// The first release whose p2pmem `allocate` and O_DIRECT `FOLL_PCI_P2PDMA` GDS's P2PDMA
    /// mode relies on (NVIDIA's GDS troubleshooting guide asks for 6.2 or later).
    public static let minimumKernel = KernelVersion(6, 2)
    /// Mainline "mm/mm_init: move p2pdma page refcount initialisation to p2pdma" (6.15).
    public static let refcountChange = KernelVersion(6, 15)
    /// The open GPU kernel module branch NVIDIA's P2PDMA set-up guide asks for.
    public static let minimumDriverBranch = 565
    static let registryRemedy = "in /etc/modprobe.d/nvidia-p2pdma.conf: options nvidia NVreg_RegistryDwords=\"RMForceStaticBar1=1;RmForceDisableIomapWC=1;\"; then update-initramfs -u (dracut -f) and reboot"

    public var kernel: KernelVersion
    /// Where the kernel version came from (the running kernel, or the rules asked for).
    public var kernelSource: String
    /// nil: the source knows nothing of the machine's drivers (a dump, a fabric, a snapshot).
    public var facts: GDSFacts?
    public var host: HostFacts?
    public var nvidiaChecks: [GDSCheck]
    public var commonChecks: [GDSCheck]
    public var pairs: [Pair]

    /// `runningKernel`: the kernel the machine runs and where it was read (`/proc/sys/kernel/osrelease`,
    /// a snapshot); nil judges the kernel whose rules are in use.
    public init(_ a: P2PAnalyzer, host: HostFacts?, facts: GDSFacts?, runningKernel: (KernelVersion, source: String)?) {
        let t = a.topology
        kernel = runningKernel?.0 ?? a.kernel
        kernelSource = runningKernel?.source ?? "the kernel rules in use: the source names no running kernel"
        self.facts = facts
        self.host = host
        commonChecks = [Self.p2pdmaConfig(host), Self.kernelVersion(kernel, source: kernelSource), Self.multipath(facts), Self.fabrics(facts)]
        nvidiaChecks = Self.nvidiaDriver(facts) + Self.registry(facts) + Self.refcount(facts, kernel: kernel, source: kernelSource)
        let gpus = t.devices.filter { t.kind($0.bdf) == .gpu && ($0.vendorID == 0x10de || $0.vendorID == 0x1002) }
        let drives = t.devices.filter { t.kind($0.bdf) == .nvme }
        var pairs: [Pair] = []
        for g in gpus {
            for n in drives {
                let v = a.verdict(provider: g.bdf, client: n.bdf)
                let nvidia = g.vendorID == 0x10de
                var checks = nvidia ? [Self.gpuGeneration(g)] : []
                checks += [Self.md(n, facts), Self.pairVerdict(v, t, kernel: a.kernel)]
                pairs.append(Pair(gpu: g.bdf, nvme: n.bdf, stack: nvidia ? .gds : .hipFile, verdict: v, checks: checks,
                                  hostChecks: commonChecks + (nvidia ? nvidiaChecks : [])))
            }
        }
        self.pairs = pairs
    }
}

extension GDSReadiness {
    static func p2pdmaConfig(_ host: HostFacts?) -> GDSCheck {
        let id = "kernel-p2pdma"
        guard let host else { return GDSCheck(id: id, status: .unknown, detail: "CONFIG_PCI_P2PDMA: the source has no kernel config", source: "—") }
        switch host.p2pdma {
        case .enabled(let evidence):
            return GDSCheck(id: id, status: .pass, detail: "CONFIG_PCI_P2PDMA=y", source: evidence)
        case .disabled(let file):
            return GDSCheck(id: id, status: .fail, detail: "CONFIG_PCI_P2PDMA is not set: no P2PDMA mode at all", source: file,
                            remedy: "boot a kernel built with CONFIG_PCI_P2PDMA=y (a build option: no parameter turns it on)")
        case .unknown(let why):
            return GDSCheck(id: id, status: .unknown, detail: "CONFIG_PCI_P2PDMA: \(why)", source: "/boot/config-*, /proc/config.gz")
        }
    }

    static func kernelVersion(_ k: KernelVersion, source: String) -> GDSCheck {
        k >= minimumKernel
            ? GDSCheck(id: "kernel-version", status: .pass, detail: "kernel \(k) ≥ \(minimumKernel)", source: source)
            : GDSCheck(id: "kernel-version", status: .fail, detail: "kernel \(k) < \(minimumKernel): no p2pmem allocate, no FOLL_PCI_P2PDMA for O_DIRECT",
                       source: source, remedy: "boot kernel \(minimumKernel) or later")
    }

    static func multipath(_ f: GDSFacts?) -> GDSCheck {
        let id = "nvme-multipath", source = "/sys/module/nvme_core/parameters/multipath"
        switch f?.multipath ?? .unknown {
        case .off: return GDSCheck(id: id, status: .pass, detail: "nvme_core multipath=N", source: source)
        case .notBuilt: return GDSCheck(id: id, status: .pass, detail: "nvme_core built without native multipath", source: source)
        case .on:
            return GDSCheck(id: id, status: .fail, detail: "nvme_core multipath=Y: native NVMe multipath does not pass P2PDMA pages", source: source,
                            remedy: "in /etc/modprobe.d/nvme.conf: options nvme_core multipath=N; then update-initramfs -u (dracut -f) and reboot")
        case .unknown: return GDSCheck(id: id, status: .unknown, detail: "nvme_core's multipath setting is not known here", source: source)
        }
    }

    static func fabrics(_ f: GDSFacts?) -> GDSCheck {
        let id = "nvme-of", source = "/sys/class/nvme/*/transport"
        guard let f else { return GDSCheck(id: id, status: .unknown, detail: "NVMe controllers' transports are not known here", source: source) }
        if f.fabricControllers.isEmpty { return GDSCheck(id: id, status: .pass, detail: "every NVMe controller is on PCIe", source: source) }
        let list = f.fabricControllers.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
        return GDSCheck(id: id, status: .warn, detail: "NVMe over Fabrics: \(list): files there cannot use the P2PDMA mode", source: source,
                        remedy: "keep the files GPUs read on a local PCIe NVMe namespace")
    }

    static func nvidiaDriver(_ f: GDSFacts?) -> [GDSCheck] {
        let id = "nvidia-open-module", source = "/sys/module/nvidia/version, /proc/driver/nvidia/version"
        guard let f else { return [GDSCheck(id: id, status: .unknown, detail: "the GPU driver is not known here", source: source)] }
        guard let d = f.nvidia else {
            return [GDSCheck(id: id, status: .fail, detail: "the nvidia module is not loaded", source: "/sys/module/nvidia",
                             remedy: "install and load NVIDIA's open GPU kernel module, \(minimumDriverBranch) or later")]
        }
        let version = d.version ?? "of unknown version"
        if d.openKernelModule == false {
            return [GDSCheck(id: id, status: .fail, detail: "nvidia \(version) is the proprietary kernel module: P2PDMA mode needs the open one", source: source,
                             remedy: "install the open flavour of the same driver (nvidia-open, kernel-open), \(minimumDriverBranch) or later")]
        }
        if let b = d.branch, b < minimumDriverBranch {
            return [GDSCheck(id: id, status: .fail, detail: "nvidia \(version): branch \(b) < \(minimumDriverBranch)", source: source,
                             remedy: "install the open GPU kernel module \(minimumDriverBranch) or later")]
        }
        if d.openKernelModule == nil || d.branch == nil {
            return [GDSCheck(id: id, status: .unknown, detail: "nvidia \(version): flavour or version unreadable", source: source)]
        }
        return [GDSCheck(id: id, status: .pass, detail: "open kernel module \(version)", source: source)]
    }

    static func registry(_ f: GDSFacts?) -> [GDSCheck] {
        let source = "/proc/driver/nvidia/params (RegistryDwords)"
        return [("RMForceStaticBar1", "nvidia-static-bar1", "BAR1 mapped statically, so the whole of GPU memory has struct pages"),
                ("RmForceDisableIomapWC", "nvidia-iomap-wc", "no write-combined iomap of BAR1")].map { key, id, why in
            guard let d = f?.nvidia, let dwords = d.registryDwords else {
                return GDSCheck(id: id, status: .unknown, detail: "\(key): the driver's registry is not readable here", source: source)
            }
            if dwords[key.lowercased()] == "1" { return GDSCheck(id: id, status: .pass, detail: "\(key)=1: \(why)", source: source) }
            return GDSCheck(id: id, status: .fail, detail: "\(key) is not 1 (x86: P2PDMA mode needs \(why))", source: source, remedy: registryRemedy)
        }
    }

    static func refcount(_ f: GDSFacts?, kernel: KernelVersion, source: String) -> [GDSCheck] {
        guard f?.nvidia?.openKernelModule == true else { return [] }
        let id = "uvm-p2p-refcount"
        if kernel < refcountChange {
            return [GDSCheck(id: id, status: .pass, detail: "kernel \(kernel) predates the 6.15 change to p2pdma page refcounts", source: source)]
        }
        return [GDSCheck(id: id, status: .warn,
                         detail: "kernel \(kernel) ≥ 6.15 (\"mm/mm_init: move p2pdma page refcount initialisation to p2pdma\"): the open module's UVM sets up its device-P2P pages the old way and CUDA then reports P2PDMA as unsupported (NVIDIA/open-gpu-kernel-modules#1023, open at 590.48.01)",
                         source: source, remedy: "a driver release that lists the fix for #1023, or a kernel before 6.15")]
    }

    static func gpuGeneration(_ g: Device) -> GDSCheck {
        let id = "gpu-generation", source = "config space: \(hex(g.vendorID, width: 4)):\(hex(g.deviceID, width: 4)), class \(hex(g.classCode, width: 4))"
        // NVIDIA's device IDs from 0x2000 are Ampere (GA100 0x20xx) and later generations.
        guard g.deviceID >= 0x2000 else {
            return GDSCheck(id: id, status: .fail, detail: "older than Ampere: the P2PDMA mode supports A100, A40, L4, L40S, H100, H200 and B100/B200/B300",
                            source: source, remedy: "use an Ampere or newer data-center GPU")
        }
        if g.classCode == 0x0300 {
            return GDSCheck(id: id, status: .warn, detail: "Ampere or newer, but a display-class GPU: NVIDIA lists data-center GPUs only", source: source)
        }
        return GDSCheck(id: id, status: .pass, detail: "Ampere or newer data-center GPU", source: source)
    }

    static func md(_ n: Device, _ f: GDSFacts?) -> GDSCheck {
        let id = "nvme-md", source = "/sys/block/md*/slaves"
        guard let f else { return GDSCheck(id: id, status: .unknown, detail: "md arrays are not known here", source: source) }
        let blocks = (n.sysfs?.osDevices ?? []).filter { $0.kind == .block }.map(\.name)
        let inArrays = f.mdMembers.filter { member, _ in blocks.contains { member == $0 || (member.hasPrefix($0 + "p") && member.dropFirst($0.count + 1).allSatisfy(\.isNumber)) } }
        if inArrays.isEmpty {
            return GDSCheck(id: id, status: .pass, detail: blocks.isEmpty ? "no md array holds this drive" : "\(blocks.joined(separator: ", ")): in no md array", source: source)
        }
        let list = inArrays.sorted { $0.key < $1.key }.map { "\($0.key) in \($0.value)" }.joined(separator: ", ")
        return GDSCheck(id: id, status: .fail, detail: "\(list): md RAID does not pass P2PDMA pages", source: source,
                        remedy: "put the files on a file system directly on the NVMe namespace")
    }

    static func pairVerdict(_ v: Verdict, _ t: Topology, kernel: KernelVersion) -> GDSCheck {
        let source = "p2ptop's P2PDMA rules for kernel \(kernel) (p2ptop path \(v.provider.compact) \(v.client.compact))"
        if v.mapType == .notSupported {
            return GDSCheck(id: "pair-verdict", status: .fail, detail: "NOT_SUPPORTED: \(v.reason)", source: source, remedy: "see p2ptop doctor \(v.provider.compact) \(v.client.compact)")
        }
        return GDSCheck(id: "pair-verdict", status: .pass, detail: "\(v.mapType.rawValue), path \(v.pathClass.rawValue)", source: source)
    }
}
