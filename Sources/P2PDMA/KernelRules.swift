/// One version rule of the model: the mainline release that brought it (and the one that
/// ended it, for a bug), the commit it comes from, the stable releases that took a fix, and
/// what the lab has shown of it on which kernels.
public struct KernelRule: Sendable, Identifiable {
    public var id: String
    /// What the kernel does from `since` on.
    public var summary: String
    public var since: KernelVersion
    /// The mainline release from which it no longer holds (a bug's fix), if any.
    public var until: KernelVersion?
    /// Stable releases of older series that took the fix (`6.12.95`: 6.12.y from .95 on, or
    /// earlier where the exact release is unknown: see `stableNote`; a bare series: some
    /// release of it took the fix, which one is not known).
    public var stableFixes: [KernelVersion]
    public var stableNote: String
    /// The commit title the rule is read from ("from reading": its text in the kernel tree).
    public var commit: String
    /// The Debian kernels the lab booted and saw this rule's answer on (empty: from reading).
    public var verified: [String]
    /// How the lab checks it, or why it cannot.
    public var evidence: String

    public init(_ id: String, _ summary: String, since: KernelVersion, until: KernelVersion? = nil, stableFixes: [KernelVersion] = [],
                stableNote: String = "", commit: String, verified: [String] = [], evidence: String = "") {
        self.id = id; self.summary = summary; self.since = since; self.until = until; self.stableFixes = stableFixes
        self.stableNote = stableNote; self.commit = commit; self.verified = verified; self.evidence = evidence
    }

    /// Whether the rule holds on `k`: true, false, or nil when the release string cannot tell
    /// (a series whose stable releases took the fix, read from a version without its sublevel
    /// or from a distribution that backports).
    public func state(on k: KernelVersion) -> Bool? {
        let series = k.series
        guard series >= since.series else { return false }
        guard let until else { return true }
        if series >= until.series { return false }
        guard let fix = stableFixes.first(where: { $0.series == series }) else { return true }
        if k.distribution.backports { return nil }
        guard let sub = k.sublevel, let fixed = fix.sublevel else { return nil }   // a series took it, release unknown
        return sub < fixed
    }

    /// `state(on:)`, reading "cannot tell" as "holds" (the release the rule names decides).
    public func holds(on k: KernelVersion) -> Bool { state(on: k) ?? true }

    /// "6.2", "6.11 until 6.15 (fixed in 6.12.95)".
    public var releases: String {
        var s = since.description
        if let until { s += " until " + until.description }
        if !stableFixes.isEmpty { s += " (fixed in " + stableFixes.map { $0.sublevel == nil ? "\($0).y" : "\($0)" }.joined(separator: ", ") + ")" }
        return s
    }

    /// "verified on 6.1.176, 6.12.95, 7.2.13" or "from reading".
    public var verification: String { verified.isEmpty ? "from reading" : "verified on " + verified.joined(separator: ", ") }
}

/// Every version rule p2ptop applies, in release order. The `verified` lists name the Debian
/// kernels whose lab boots agreed with the rule's answer (`p2ptop lab check --kernels all`).
public enum KernelRules {
    public static let disableACSRedir = KernelRule(
        "disable-acs-redir", "pci=disable_acs_redir= turns ACS redirect off at the ports it names",
        since: KernelVersion(4, 19), commit: "PCI: Add \"pci=disable_acs_redir=\" parameter for peer-to-peer support",
        verified: ["6.1.176", "6.12.95", "7.2.13"], evidence: "the IOMMU boots with the doctor's one-port remedy and with two ports: every port's ACSCtl read back; on 6.12 and 7.2 the pair maps")
    public static let p2pdma = KernelRule(
        "p2pdma", "CONFIG_PCI_P2PDMA: p2pmem providers and pci_p2pdma_distance", since: KernelVersion(4, 20),
        commit: "PCI/P2PDMA: Support peer-to-peer memory", verified: ["6.12.95", "7.2.13"],
        evidence: "the CMBs' NVMe functions publish p2pmem and the reads into it map; 6.1 publishes them too but cannot be asked for a mapping")
    public static let rootComplexWhitelist = KernelRule(
        "root-complex-whitelist", "AMD 1022:1450 at 00.0 of the root bus allowed, only without an IOMMU",
        since: KernelVersion(5, 2), until: KernelVersion(5, 4), commit: "PCI/P2PDMA: Add whitelist support for some Intel host bridges / root_complex_whitelist",
        evidence: "no Debian kernel of 5.2–5.3 to boot")
    public static let hostBridgeFallback = KernelRule(
        "host-bridge-fallback", "ACS redirect on the path sends the pair to the host-bridge route instead of a hard reject",
        since: KernelVersion(5, 4), commit: "PCI/P2PDMA: Introduce pci_p2pdma_map_type()",
        verified: ["6.12.95", "7.2.13"], evidence: "the IOMMU boot: redirect on the root port, the pair refused as a host-bridge pair (6.1 cannot be asked: no p2pmem/allocate)")
    public static let amdZen = KernelRule(
        "amd-zen", "x86 AMD family ≥ 0x17: any two root ports may do P2P (cpu_supports_p2pdma)",
        since: KernelVersion(5, 9), commit: "PCI/P2PDMA: Allow P2PDMA on AMD Zen and newer CPUs",
        verified: ["6.12.95", "7.2.13"], evidence: "-cpu EPYC: pairs across root ports and across host bridges (lab-hosts) map; Intel: refused")
    public static let rootPortHostBridgeDevice = KernelRule(
        "root-port-host-bridge-device", "the first device on a root bus stands for its host bridge when it is a Root Port, not only at 00.0",
        since: KernelVersion(5, 19), commit: "PCI/P2PDMA: Use the first device on the root bus for the host bridge allowlist check",
        verified: ["6.12.95", "7.2.13"], evidence: "lab-hosts under the IOMMU: the kernel names 40:01.0, a root port on a root bus with no 40:00.0, as its host bridge; no Debian kernel predates 5.19")
    public static let userspaceP2PDMA = KernelRule(
        "userspace-p2pdma", "p2pmem/allocate can be mmap()ed and O_DIRECT into it uses FOLL_PCI_P2PDMA",
        since: KernelVersion(6, 2), commit: "PCI/P2PDMA: Allow userspace VMA allocations through sysfs; mm: introduce FOLL_PCI_P2PDMA to gate getting PCI P2PDMA pages",
        verified: ["6.1.176", "6.12.95", "7.2.13"], evidence: "6.1: no p2pmem/allocate (ENOENT); 6.12, 7.2: the mapping and the reads into it")
    public static let directIOPins = KernelRule(
        "direct-io-pins", "O_DIRECT pins user pages (FOLL_PIN, /proc/vmstat nr_foll_pin_*) instead of taking references",
        since: KernelVersion(6, 4), commit: "block: Convert bio_iov_iter_get_pages to use iov_iter_extract_pages",
        verified: ["6.1.176", "6.12.95", "7.2.13"], evidence: "O_DIRECT into host memory: the FOLL_PIN counters stay still on 6.1, count every page on 6.12 and 7.2")
    public static let longtermWriteFileCheck = KernelRule(
        "longterm-write-file-check", "a FOLL_LONGTERM|FOLL_WRITE pin of a shared file mapping needing dirty tracking (p2pmem/allocate) gets EFAULT",
        since: KernelVersion(6, 5), commit: "mm/gup: disallow FOLL_LONGTERM GUP-nonfast writing to file-backed mappings",
        verified: ["6.12.95", "7.2.13"], evidence: "writable ibv_reg_mr of p2pmem: EFAULT, read-only: EREMOTEIO; the older side (6.2–6.4) is not a Debian kernel")
    public static let nowaitSplitRetry = KernelRule(
        "nowait-split-retry", "a REQ_NOWAIT bio that needs splitting ends with EAGAIN: io_uring's nowait attempt pins, unpins, io-wq pins again",
        since: KernelVersion(6, 7), commit: "block: don't allow splitting of a REQ_NOWAIT bio",
        verified: ["6.12.95", "7.2.13"], evidence: "1 MiB io_uring reads on a 512 KiB-limit queue pin every page twice on 6.12 and 7.2; 6.1 pins no page (references)")
    public static let configACS = KernelRule(
        "config-acs", "pci=config_acs= sets chosen ACS Control bits per port",
        since: KernelVersion(6, 11), commit: "PCI: Extend ACS configurability",
        verified: ["6.1.176", "6.12.95", "7.2.13"], evidence: "config_acs with a value per port under the IOMMU: each port's ACSCtl as predicted on 6.12 and 7.2; 6.1 ignores the option")
    public static let acsFromFirmware = KernelRule(
        "acs-from-firmware", "pci=disable_acs_redir= and config_acs= compute a named port's ACS Control from the firmware's value: the kernel's own SV and UF for the IOMMU are dropped there (before: redirect cleared from the kernel's value)",
        since: KernelVersion(6, 11), commit: "PCI: Extend ACS configurability",
        verified: ["6.1.176", "6.12.95", "7.2.13"], evidence: "IOMMU + disable_acs_redir=A;B: ACSCtl SrcValid+ UpstreamFwd+ on 6.1, 0x0000 on 6.12 and 7.2")
    public static let configACSMultiPort = KernelRule(
        "config-acs-multi-port", "two or more ports in pci=config_acs= fail (\"Can't parse ACS command line parameter\"); disable_acs_redir=A;B;C leaves redirect set",
        since: KernelVersion(6, 11), until: KernelVersion(6, 15), stableFixes: [KernelVersion(6, 12, 95), KernelVersion(6, 13), KernelVersion(6, 14)],
        stableNote: "6.13.y and 6.14.y took the fix at releases not identified here; the first 6.12.y with it is not identified either: 6.12.95 has it (its __pci_config_acs is 7.2's)",
        commit: "PCI/ACS: Fix 'pci=config_acs=' parameter",
        verified: ["6.12.95", "7.2.13"], evidence: "two ports in disable_acs_redir and in config_acs both take effect on 6.12.95 and 7.2.13 (the fixed side); no Debian kernel has the bug")
    public static let p2pdmaRefcountInit = KernelRule(
        "p2pdma-refcount-init", "p2pmem_alloc_mmap sets each page's count to 1 (folio_free replaces page_free); NVIDIA UVM P2P broke on 6.16+",
        since: KernelVersion(6, 15), commit: "mm: move p2pdma page refcount initialisation to p2pdma",
        evidence: "from reading: set_page_count(page, 1) in 7.2.13's p2pmem_alloc_mmap, absent from 6.12.95's")
    public static let blockDMAIterator = KernelRule(
        "block-dma-iterator", "NVMe maps data with the block layer's DMA iterator: a P2P segment it will not map fails with BLK_STS_INVAL (EINVAL), not EREMOTEIO",
        since: KernelVersion(6, 17), commit: "block: add scatterlist-less DMA mapping helpers; nvme-pci: convert the data mapping to blk_rq_dma_map",
        verified: ["6.12.95", "7.2.13"], evidence: "O_DIRECT from an NVMe into p2pmem across a refused path: EREMOTEIO on 6.12, EINVAL on 7.2")
    public static let dmabufProviders = KernelRule(
        "dmabuf-providers", "the P2PDMA provider split (pcim_p2pdma_provider), the pool made on first pci_p2pdma_add_resource, VFIO dma-buf export",
        since: KernelVersion(6, 19), commit: "PCI/P2PDMA: Separate the mmap() support from the core logic",
        evidence: "from reading: 7.2.13's drivers/pci/p2pdma.c; the lab has no VFIO device")

    public static let all: [KernelRule] = [
        disableACSRedir, p2pdma, rootComplexWhitelist, hostBridgeFallback, amdZen, rootPortHostBridgeDevice, userspaceP2PDMA,
        directIOPins, longtermWriteFileCheck, nowaitSplitRetry, configACS, acsFromFirmware, configACSMultiPort, p2pdmaRefcountInit,
        blockDMAIterator, dmabufProviders,
    ]

    /// The rules in force on `k` (and those it cannot tell), for the doctor's list.
    public static func applying(to k: KernelVersion) -> [(rule: KernelRule, state: Bool?)] {
        all.map { ($0, $0.state(on: k)) }.filter { $0.state != false }
    }
}
