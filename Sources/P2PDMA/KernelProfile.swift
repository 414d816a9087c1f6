import PCITopology

/// Which kernel's P2PDMA rules to apply (`--kernel X.Y[.Z]`, or a machine's `uname -r`): the
/// decision procedure, the host-bridge allowlist and the errnos changed across releases
/// (kernel-p2pdma.md §1.8; every rule with its release and commit in `KernelRules`).
public struct KernelVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    /// The stable release within the series when the text names one (`6.12.95`); nil for a
    /// bare series (`6.12`) and for distribution ABI strings whose `.0` is no stable release
    /// (`6.1.0-28-amd64`, `6.8.0-45-generic`, `5.14.0-427.el9.x86_64`).
    public var sublevel: Int?
    /// Who built it, as far as the release string says: a stable-release fix is known present
    /// from the sublevel only for upstream and Debian's versioned kernels.
    public var distribution: Distribution
    /// The text it was read from (`uname -r`), when it came from one.
    public var release: String?

    public enum Distribution: String, Sendable {
        case upstream, debian, ubuntu, redHat = "red-hat", unknown
        /// Whether this distribution backports fixes into kernels whose version does not move.
        public var backports: Bool { self == .ubuntu || self == .redHat || self == .unknown }
    }

    public init(_ major: Int, _ minor: Int, _ sublevel: Int? = nil) {
        self.major = major; self.minor = minor; self.sublevel = sublevel; distribution = .upstream; release = nil
    }

    /// `6.8`, `6.12.95`, `6.12.95+deb13-amd64`, `6.12.12+bpo-amd64`, `6.1.0-28-amd64`,
    /// `6.8.0-45-generic`, `5.14.0-427.el9.x86_64`, `7.2.13`.
    public init?(parsing text: String) {
        guard text.first?.isNumber == true, text.utf8.count <= 256 else { return nil }
        var numbers: [Int] = []
        var rest = Substring(text)
        while numbers.count < 3 {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 4, let n = Int(digits) else { break }
            numbers.append(n)
            rest = rest.dropFirst(digits.count)
            guard numbers.count < 3, rest.first == "." else { break }
            rest = rest.dropFirst()
        }
        guard numbers.count >= 2, numbers[0] > 0, numbers[0] < 100, numbers[1] < 1000 else { return nil }
        major = numbers[0]; minor = numbers[1]
        release = text == "\(major).\(minor)" ? nil : text
        let suffix = String(rest)
        let third = numbers.count == 3 ? numbers[2] : nil
        (distribution, sublevel) = Self.distribution(suffix: suffix, third: third)
    }

    /// Who built a kernel from what follows `X.Y[.Z]` in its release string, and whether `Z`
    /// is a stable release: after `X.Y.0`, `-N-flavour` is an ABI number (Debian ≤ 12, Ubuntu).
    static func distribution(suffix: String, third: Int?) -> (Distribution, Int?) {
        let parts = suffix.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        let abi = third == 0 && parts.count >= 3 && parts[0].isEmpty && !parts[1].isEmpty
            && parts[1].allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") } && parts[2].first?.isLetter == true
        let flavour = abi ? parts[2] : ""
        if suffix.contains("+deb") || suffix.contains("+bpo") { return (.debian, third) }
        if suffix.split(separator: ".").contains(where: { $0.hasPrefix("el") && $0.dropFirst(2).first?.isNumber == true }) { return (.redHat, nil) }
        if abi && ["generic", "lowlatency", "aws", "azure", "gcp", "gke", "oracle", "kvm", "nvidia", "oem", "ibm", "raspi"].contains(flavour) { return (.ubuntu, nil) }
        if abi && ["amd64", "arm64", "cloud", "rt", "686", "armmp", "powerpc64le", "s390x"].contains(flavour) { return (.debian, nil) }
        if abi { return (.unknown, nil) }
        return (suffix.isEmpty || suffix.hasPrefix("-rc") ? .upstream : .unknown, third)
    }

    /// The series alone (`6.12`), for rules keyed to mainline releases.
    public var series: KernelVersion { KernelVersion(major, minor) }

    public static func == (a: KernelVersion, b: KernelVersion) -> Bool {
        a.major == b.major && a.minor == b.minor && a.sublevel == b.sublevel
    }
    public func hash(into h: inout Hasher) { h.combine(major); h.combine(minor); h.combine(sublevel) }

    public static let latest = KernelVersion(7, 3)

    public static func < (a: KernelVersion, b: KernelVersion) -> Bool {
        (a.major, a.minor, a.sublevel ?? 0) < (b.major, b.minor, b.sublevel ?? 0)
    }
    /// `6.12.95` when the stable release is known, else `6.12`.
    public var description: String { "\(major).\(minor)" + (sublevel.map { ".\($0)" } ?? "") }
    /// As read (`6.12.95+deb13-amd64`), else `description`.
    public var full: String { release ?? description }

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

    // Each rule's release, commit and lab record: `KernelRules`.
    /// P2PDMA exists at all (CONFIG_PCI_P2PDMA, 4.20).
    public var hasP2PDMA: Bool { KernelRules.p2pdma.holds(on: self) }
    /// ACS redirect falls back to the host-bridge route instead of a hard reject (5.4).
    public var hostBridgeFallback: Bool { KernelRules.hostBridgeFallback.holds(on: self) }
    /// AMD 1022:1450 at 00.0 of the root bus allowed, only without an IOMMU (5.2–5.3).
    public var rootComplexWhitelist: Bool { KernelRules.rootComplexWhitelist.holds(on: self) }
    /// x86 AMD family ≥ 0x17 always allowed across host bridges (5.9).
    public var amdZenRule: Bool { KernelRules.amdZen.holds(on: self) }
    /// The first device on a root bus counts if it is a Root Port, not only at 00.0 (≈5.19).
    public var rootPortHostBridgeDevice: Bool { KernelRules.rootPortHostBridgeDevice.holds(on: self) }
    /// Userspace can mmap p2pmem/allocate and O_DIRECT into it (6.2).
    public var userspaceP2PDMA: Bool { KernelRules.userspaceP2PDMA.holds(on: self) }
    /// `pci=disable_acs_redir=` (4.19).
    public var disableACSRedirParameter: Bool { KernelRules.disableACSRedir.holds(on: self) }
    /// `pci=config_acs=` (6.11): per-port ACS bits, '0'/'1'/'x' from bit 6 down to bit 0.
    public var configACSParameter: Bool { KernelRules.configACS.holds(on: self) }
    /// The ACS parameters compute a named port's control from the firmware's value (6.11).
    public var acsParametersFromFirmware: Bool { KernelRules.acsFromFirmware.holds(on: self) }
    /// Whether naming two or more ports in `pci=config_acs=` or `pci=disable_acs_redir=`
    /// works: false from 6.11 until the fix (6.15, and the stable releases that took it); nil
    /// when the release string cannot say (a distribution's backports).
    public var multiPortACSParameters: Bool? {
        guard disableACSRedirParameter else { return false }
        return KernelRules.configACSMultiPort.state(on: self).map(!)
    }
    /// O_DIRECT pins its pages (FOLL_PIN through iov_iter_extract_pages) instead of taking
    /// plain references (6.4).
    public var directIOPins: Bool { KernelRules.directIOPins.holds(on: self) }
    /// `check_vma_flags` refuses a FOLL_LONGTERM|FOLL_WRITE pin of a shared file mapping that
    /// needs dirty tracking — a p2pmem/allocate mapping is one (kernfs, `page_mkwrite`) — with
    /// -EFAULT before any page is looked at (6.5). Seen on the lab's 6.12 and 7.2: a writable
    /// `ibv_reg_mr` of p2pmem gets EFAULT, a read-only one EREMOTEIO.
    public var longtermWriteFileCheck: Bool { KernelRules.longtermWriteFileCheck.holds(on: self) }
    /// A REQ_NOWAIT bio that would need splitting ends with -EAGAIN (6.7), as does a nowait
    /// O_DIRECT needing a second bio: io_uring's first, non-blocking attempt pins the pages,
    /// gives them back, and io-wq pins them again. Seen on the lab's 6.12: 1 MiB io_uring
    /// reads on a 512 KiB-limit NVMe queue pinned every page twice.
    public var nowaitSplitRetry: Bool { KernelRules.nowaitSplitRetry.holds(on: self) }
    /// `p2pmem_alloc_mmap` sets each page's count to 1 as it maps it (≈6.15).
    public var p2pmemPageCountOnMap: Bool { KernelRules.p2pdmaRefcountInit.holds(on: self) }
    /// The block layer's DMA iterator maps NVMe data (6.17): a P2P segment the kernel will not
    /// map ends the request with BLK_STS_INVAL, so O_DIRECT sees EINVAL where the scatterlist
    /// path's dma_map_sgtable gave EREMOTEIO (BLK_STS_TARGET).
    public var blockDMAIterator: Bool { KernelRules.blockDMAIterator.holds(on: self) }
    /// The errno an O_DIRECT read from an NVMe queue into p2pmem it may not reach ends with.
    public var refusedP2PReadErrno: String { blockDMAIterator ? "EINVAL" : "EREMOTEIO" }
    /// The dma-buf provider split (pcim_p2pdma_provider), VFIO dma-buf export (6.19).
    public var dmabufProviders: Bool { KernelRules.dmabufProviders.holds(on: self) }
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
