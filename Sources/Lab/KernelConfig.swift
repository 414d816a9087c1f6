/// The lab kernel's configuration: a fragment merged over `make tinyconfig`, everything built
/// in. The text is the cache key's input, so a change here builds a new kernel.
public enum LabKernelConfig {
    /// Merged over tinyconfig (appended, then `make olddefconfig`); every `CONFIG_X=y` line must
    /// survive, or the build stops naming the option Kconfig dropped.
    public static let fragment = """
# p2ptop lab kernel: merged over `make tinyconfig`; everything built in, no modules.
# Base system
CONFIG_64BIT=y
CONFIG_SMP=y
CONFIG_PRINTK=y
CONFIG_PRINTK_TIME=y
CONFIG_BUG=y
CONFIG_TTY=y
CONFIG_UNIX98_PTYS=y
CONFIG_SERIAL_8250=y
CONFIG_SERIAL_8250_CONSOLE=y
CONFIG_BINFMT_ELF=y
CONFIG_BINFMT_SCRIPT=y
CONFIG_PROC_FS=y
CONFIG_PROC_SYSCTL=y
CONFIG_SYSFS=y
CONFIG_DEVTMPFS=y
CONFIG_TMPFS=y
CONFIG_SHMEM=y
CONFIG_MEMFD_CREATE=y
CONFIG_MULTIUSER=y
CONFIG_FUTEX=y
CONFIG_EPOLL=y
CONFIG_SIGNALFD=y
CONFIG_TIMERFD=y
CONFIG_EVENTFD=y
CONFIG_AIO=y
CONFIG_IO_URING=y
CONFIG_POSIX_TIMERS=y
CONFIG_FILE_LOCKING=y
CONFIG_FHANDLE=y
CONFIG_INOTIFY_USER=y
CONFIG_ADVISE_SYSCALLS=y
CONFIG_MEMBARRIER=y
CONFIG_RSEQ=y
CONFIG_HIGH_RES_TIMERS=y
CONFIG_HYPERVISOR_GUEST=y
CONFIG_PARAVIRT=y
CONFIG_KVM_GUEST=y
CONFIG_X86_X2APIC=y
CONFIG_CPU_SUP_INTEL=y
CONFIG_CPU_SUP_AMD=y
CONFIG_RTC_CLASS=y
CONFIG_IKCONFIG=y
CONFIG_IKCONFIG_PROC=y
CONFIG_DEBUG_FS=y
CONFIG_MAGIC_SYSRQ=y
# Block and NVMe (the CMB becomes a p2pmem provider)
CONFIG_BLOCK=y
CONFIG_BLK_DEV=y
CONFIG_NVME_CORE=y
CONFIG_BLK_DEV_NVME=y
# PCI Express: ports, AER, SR-IOV, extended config space, quirks
CONFIG_PCI=y
CONFIG_PCI_MSI=y
CONFIG_PCIEPORTBUS=y
CONFIG_PCIEAER=y
CONFIG_PCI_IOV=y
CONFIG_PCI_QUIRKS=y
CONFIG_PCI_MMCONFIG=y
CONFIG_ACPI=y
# Peer-to-peer DMA: struct pages for BAR memory
CONFIG_SPARSEMEM_VMEMMAP=y
CONFIG_MEMORY_HOTPLUG=y
CONFIG_MEMORY_HOTREMOVE=y
CONFIG_ZONE_DEVICE=y
CONFIG_PCI_P2PDMA=y
# IOMMU (emulated intel-iommu, off unless asked for on the command line)
CONFIG_IOMMU_SUPPORT=y
CONFIG_INTEL_IOMMU=y
# Host root over virtio 9p, a NIC for soft-RoCE
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO=y
CONFIG_VIRTIO_PCI=y
CONFIG_NET=y
CONFIG_UNIX=y
CONFIG_INET=y
CONFIG_IPV6=y
CONFIG_PACKET=y
CONFIG_NETDEVICES=y
CONFIG_VIRTIO_NET=y
CONFIG_NET_9P=y
CONFIG_NET_9P_VIRTIO=y
CONFIG_9P_FS=y
# RDMA: soft-RoCE, user verbs
CONFIG_INFINIBAND=y
CONFIG_INFINIBAND_USER_ACCESS=y
CONFIG_INFINIBAND_VIRT_DMA=y
CONFIG_RDMA_RXE=y
# DMA-BUF: heaps and udmabuf
CONFIG_DMA_SHARED_BUFFER=y
CONFIG_DMABUF_HEAPS=y
CONFIG_DMABUF_HEAPS_SYSTEM=y
CONFIG_UDMABUF=y

"""

    /// The options the fragment asks for, in order.
    public static var requested: [String] { options(in: fragment).map(\.key) }

    /// `CONFIG_X=value` lines of a .config or fragment (comments and `is not set` skipped).
    public static func options(in text: String) -> [(key: String, value: String)] {
        text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("CONFIG_"), let eq = line.firstIndex(of: "=") else { return nil }
            return (String(line[..<eq]), String(line[line.index(after: eq)...]))
        }
    }

    /// What a kernel needs to be a lab kernel at all (a user's `--kernel PATH` included): the
    /// rest of the fragment only adds experiments (RDMA, dma-buf heaps, the IOMMU).
    public static let essential = [
        "CONFIG_PCI_P2PDMA", "CONFIG_ZONE_DEVICE", "CONFIG_BLK_DEV_NVME", "CONFIG_PCIEPORTBUS", "CONFIG_PCI_MMCONFIG",
        "CONFIG_VIRTIO_PCI", "CONFIG_NET_9P_VIRTIO", "CONFIG_9P_FS", "CONFIG_SERIAL_8250_CONSOLE",
        "CONFIG_DEVTMPFS", "CONFIG_TMPFS", "CONFIG_PROC_FS", "CONFIG_SYSFS", "CONFIG_BINFMT_SCRIPT",
        "CONFIG_MAGIC_SYSRQ",
    ]

    /// Fragment options a finished .config lost or set otherwise (empty: all there).
    public static func missing(from config: String, wanted: [String]? = nil) -> [String] {
        var have: [String: String] = [:]
        for (k, v) in options(in: config) { have[k] = v }
        let want = options(in: fragment).filter { wanted?.contains($0.key) ?? true }
        return want.filter { have[$0.key] != $0.value }.map(\.key)
    }

    /// FNV-1a (64 bit) of the fragment's bytes, as 16 hex digits.
    public static var fragmentHash: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in fragment.utf8 { h ^= UInt64(b); h = h &* 0x0000_0100_0000_01b3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The cache key: the kernel source's version and the fragment's hash.
    public static func cacheKey(sourceVersion: String) -> String { "\(sourceVersion)-\(fragmentHash)" }
}
