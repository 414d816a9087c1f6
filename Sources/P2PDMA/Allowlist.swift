import PCITopology

/// One entry of the kernel's host-bridge allowlist (`pci_p2pdma_whitelist`), with the release
/// that brought it (kernel-p2pdma.md §1.4).
public struct AllowlistEntry: Hashable, Sendable, CustomStringConvertible {
    public var vendor: UInt16
    /// nil = any device of the vendor (wildcard, 7.1+).
    public var device: UInt16?
    public var requiresSameHostBridge: Bool
    public var since: KernelVersion
    /// Removed again in this release (the AMD Raven/Renoir root-port entries).
    public var until: KernelVersion?
    public var part: String

    public var description: String {
        hex(vendor, width: 4) + ":" + (device.map { hex($0, width: 4) } ?? "ANY") + " (\(part))"
    }

    func applies(to kernel: KernelVersion) -> Bool {
        kernel >= since && (until.map { kernel < $0 } ?? true)
    }
}

public enum Allowlist {
    static func intel(_ ids: [UInt16], same: Bool = false, since: KernelVersion, _ part: String) -> [AllowlistEntry] {
        ids.map { AllowlistEntry(vendor: 0x8086, device: $0, requiresSameHostBridge: same, since: since, part: part) }
    }

    /// Every entry p2ptop knows, mainline only ([P] entries of unreleased trees are left out).
    public static let all: [AllowlistEntry] =
        [AllowlistEntry(vendor: 0x1022, device: 0x15d0, requiresSameHostBridge: false, since: KernelVersion(5, 8),
                        until: KernelVersion(5, 9), part: "AMD Raven root port"),
         AllowlistEntry(vendor: 0x1022, device: 0x1630, requiresSameHostBridge: false, since: KernelVersion(5, 8),
                        until: KernelVersion(5, 9), part: "AMD Renoir root port")]
        + intel([0x3c00, 0x3c01], same: true, since: KernelVersion(5, 4), "Xeon E5 / Core i7 (Sandy Bridge-EP)")
        + intel([0x2f00, 0x2f01], same: true, since: KernelVersion(5, 4), "Xeon E5 v3 / E7 v3")
        + intel([0x2030, 0x2020], since: KernelVersion(5, 6), "Skylake-E")
        + intel([0x2031, 0x2032, 0x2033], since: KernelVersion(5, 7), "Skylake-E root ports B-D")
        + intel([0x09a2], since: KernelVersion(5, 18), "Ice Lake-SP and later Xeon")
        + intel([0x4940, 0x4942, 0x4944, 0x4946, 0x4948, 0x0b25, 0x11fb, 0x1212, 0x0cfe, 0x1216],
                since: KernelVersion(7, 1), "Intel QAT/DSA/IAA accelerator first on its root bus")
        + [AllowlistEntry(vendor: 0x1ae0, device: nil, requiresSameHostBridge: false, since: KernelVersion(7, 1),
                          part: "Google SoC")]

    public static func entries(for kernel: KernelVersion) -> [AllowlistEntry] { all.filter { $0.applies(to: kernel) } }

    /// The 5.2–5.3 `root_complex_whitelist`: AMD Zen root complex 1022:1450.
    static let zenRootComplex: (UInt16, UInt16) = (0x1022, 0x1450)
}
