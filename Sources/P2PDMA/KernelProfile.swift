import PCITopology

/// Which kernel's P2PDMA rules to apply (`--kernel X.Y`): the decision procedure and the
/// host-bridge allowlist changed across releases (kernel-p2pdma.md §1.8).
public struct KernelVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(_ major: Int, _ minor: Int) { self.major = major; self.minor = minor }

    /// `6.8`, `6.8.0-45-generic`, `5.4.0` → major.minor.
    public init?(parsing text: String) {
        let parts = text.split(whereSeparator: { !$0.isNumber }).prefix(2)
        guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a > 0, a < 100, b < 1000,
              text.first?.isNumber == true else { return nil }
        major = a; minor = b
    }

    public static let latest = KernelVersion(7, 3)

    public static func < (a: KernelVersion, b: KernelVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
    public var description: String { "\(major).\(minor)" }

    /// The version-table bucket, as named in the spec.
    public var bucket: String {
        switch self {
        case ..<KernelVersion(4, 20): return "pre-4.20 (no P2PDMA)"
        case ..<KernelVersion(5, 2): return "4.20–5.1"
        case ..<KernelVersion(5, 4): return "5.2–5.3"
        case ..<KernelVersion(6, 0): return "5.4–5.19"
        case ..<KernelVersion(6, 16): return "6.0–6.15"
        case ..<KernelVersion(6, 19): return "6.16–6.18"
        case ..<KernelVersion(7, 1): return "6.19+"
        default: return "7.1+"
        }
    }

    /// P2PDMA exists at all (CONFIG_PCI_P2PDMA, 4.20).
    public var hasP2PDMA: Bool { self >= KernelVersion(4, 20) }
    /// ACS redirect falls back to the host-bridge route instead of a hard reject (5.4).
    public var hostBridgeFallback: Bool { self >= KernelVersion(5, 4) }
    /// AMD 1022:1450 at 00.0 of the root bus allowed, only without an IOMMU (5.2–5.3).
    public var rootComplexWhitelist: Bool { self >= KernelVersion(5, 2) && self < KernelVersion(5, 4) }
    /// x86 AMD family ≥ 0x17 always allowed across host bridges (5.9).
    public var amdZenRule: Bool { self >= KernelVersion(5, 9) }
    /// The first device on a root bus counts if it is a Root Port, not only at 00.0 (≈5.19).
    public var rootPortHostBridgeDevice: Bool { self >= KernelVersion(5, 19) }
    /// Userspace can mmap p2pmem/allocate and O_DIRECT into it (6.2).
    public var userspaceP2PDMA: Bool { self >= KernelVersion(6, 2) }
    /// `pci=disable_acs_redir=` (4.19).
    public var disableACSRedirParameter: Bool { self >= KernelVersion(4, 19) }
    /// `pci=config_acs=` (6.11): per-port ACS bits, '0'/'1'/'x' from bit 6 down to bit 0.
    public var configACSParameter: Bool { self >= KernelVersion(6, 11) }
    /// O_DIRECT pins its pages (FOLL_PIN through iov_iter_extract_pages) instead of taking
    /// plain references (6.4).
    public var directIOPins: Bool { self >= KernelVersion(6, 4) }
    /// `check_vma_flags` refuses a FOLL_LONGTERM|FOLL_WRITE pin of a shared file mapping that
    /// needs dirty tracking — a p2pmem/allocate mapping is one (kernfs, `page_mkwrite`) — with
    /// -EFAULT before any page is looked at: `writable_file_mapping_allowed` (6.5, "mm/gup:
    /// disallow FOLL_LONGTERM GUP-nonfast writing to file-backed mappings"). Seen on the lab's
    /// 6.12: a writable `ibv_reg_mr` of p2pmem gets EFAULT, a read-only one EREMOTEIO.
    public var longtermWriteFileCheck: Bool { self >= KernelVersion(6, 5) }
    /// A REQ_NOWAIT bio that would need splitting ends with -EAGAIN ("block: don't allow
    /// splitting of a REQ_NOWAIT bio", 6.7), as does a nowait O_DIRECT needing a second bio:
    /// io_uring's first, non-blocking attempt pins the pages, gives them back, and io-wq pins
    /// them again. Seen on the lab's 6.12: 1 MiB io_uring reads on a 512 KiB-limit NVMe
    /// queue pinned every page twice.
    public var nowaitSplitRetry: Bool { self >= KernelVersion(6, 7) }
    /// The dma-buf provider split (pcim_p2pdma_provider), VFIO dma-buf export (6.19).
    public var dmabufProviders: Bool { self >= KernelVersion(6, 19) }
}

/// The CPU the kernel checks in `cpu_supports_p2pdma` (x86 vendor and family).
public struct CPUInfo: Hashable, Sendable, CustomStringConvertible {
    public var vendor: String?     // "amd", "intel", …; nil = unknown
    public var family: Int?

    public init(vendor: String?, family: Int?) { self.vendor = vendor; self.family = family }

    /// `amd:0x19`, `intel:6`, `amd:25`.
    public init?(parsing text: String) {
        let parts = text.lowercased().split(separator: ":")
        guard parts.count == 2, !parts[0].isEmpty else { return nil }
        let f = parts[1].hasPrefix("0x") ? Int(parts[1].dropFirst(2), radix: 16) : Int(parts[1])
        guard let f, f >= 0 else { return nil }
        vendor = String(parts[0]); family = f
    }

    public static let unknown = CPUInfo(vendor: nil, family: nil)

    public var isAMDZenOrLater: Bool { vendor == "amd" && (family ?? 0) >= 0x17 }

    public var description: String {
        guard let vendor else { return "unknown" }
        return vendor + ":" + (family.map { "0x" + String($0, radix: 16) } ?? "?")
    }
}
