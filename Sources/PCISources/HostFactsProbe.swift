import PCITopology
import LinuxFiles

/// Reads `HostFacts` under a root (`/` live, a captured tree in tests): kernel config, IOMMU,
/// kernel parameters, lockdown, this process's memlock limit and capabilities, RDMA devices.
extension HostProbe {
    public static func facts(root: String) -> HostFacts {
        let cmdline = FileIO.attribute(join(root, "proc/cmdline"))?.split(separator: " ").map(String.init) ?? []
        let interesting = cmdline.filter { $0.contains("iommu") || $0.hasPrefix("pci=") || $0.hasPrefix("iomem=") || $0.hasPrefix("lockdown=") || $0.hasPrefix("pcie_acs_override") }
        let groups = (FileIO.listDirectory(join(root, "sys/kernel/iommu_groups")) ?? []).compactMap(Int.init).sorted()
        let limits = memlock(FileIO.readString(join(root, "proc/self/limits")) ?? "")
        return HostFacts(
            p2pdma: p2pdmaConfig(root: root),
            iommuUnits: (FileIO.listDirectory(join(root, "sys/class/iommu")) ?? []).sorted(),
            iommuDefaultDomain: groups.first.flatMap { FileIO.attribute(join(root, "sys/kernel/iommu_groups/\($0)/type")) },
            cmdlineFlags: interesting,
            lockdown: FileIO.attribute(join(root, "sys/kernel/security/lockdown")).flatMap(selected),
            iomemStrict: cmdline.contains("iomem=strict"),
            memlockSoft: limits.soft, memlockHard: limits.hard,
            capIPCLock: capIPCLock(FileIO.readString(join(root, "proc/self/status")) ?? ""),
            rdmaDevices: (FileIO.listDirectory(join(root, "sys/class/infiniband")) ?? []).sorted())
    }

    /// `[none] integrity confidentiality` → `none`.
    static func selected(_ text: String) -> String? {
        guard let open = text.firstIndex(of: "["), let close = text.firstIndex(of: "]"), open < close else { return nil }
        return String(text[text.index(after: open)..<close])
    }

    /// `/boot/config-<release>` decides; otherwise p2pmem directories prove it is on.
    static func p2pdmaConfig(root: String) -> HostFacts.P2PDMAConfig {
        let release = FileIO.attribute(join(root, "proc/sys/kernel/osrelease")) ?? ""
        let config = join(root, "boot/config-\(release)")
        if !release.isEmpty, let text = FileIO.readString(config) {
            return configLine(text, file: "/boot/config-\(release)")
        }
        if case .success(let gz) = FileIO.read(join(root, "proc/config.gz"), limit: 16 << 20) {
            do {
                let text = String(decoding: try Inflate.gunzip(gz), as: UTF8.self)
                return configLine(text, file: "/proc/config.gz")
            } catch {
                return .unknown(why: "/proc/config.gz: \(error)")
            }
        }
        let devices = FileIO.listDirectory(join(root, "sys/bus/pci/devices")) ?? []
        let providers = devices.filter { FileIO.isDirectory(join(root, "sys/bus/pci/devices/\($0)/p2pmem")) }
        if !providers.isEmpty { return .enabled(evidence: "\(providers.count) device(s) with p2pmem/") }
        return .unknown(why: "no /boot/config-\(release.isEmpty ? "<release>" : release) or /proc/config.gz, and no device publishes p2pmem/")
    }

    /// `CONFIG_PCI_P2PDMA=y` or `# CONFIG_PCI_P2PDMA is not set` in a kernel config.
    static func configLine(_ text: String, file: String) -> HostFacts.P2PDMAConfig {
        for line in text.split(separator: "\n") {
            if line == "CONFIG_PCI_P2PDMA=y" { return .enabled(evidence: file) }
            if line == "# CONFIG_PCI_P2PDMA is not set" { return .disabled(file: file) }
        }
        return .disabled(file: "\(file) has no CONFIG_PCI_P2PDMA line")
    }

    /// `Max locked memory  8388608  8388608  bytes` → (soft, hard); `unlimited` → nil.
    static func memlock(_ limits: String) -> (soft: UInt64?, hard: UInt64?) {
        for line in limits.split(separator: "\n") where line.hasPrefix("Max locked memory") {
            let fields = line.dropFirst("Max locked memory".count).split(separator: " ")
            guard fields.count >= 2 else { break }
            return (UInt64(fields[0]), UInt64(fields[1]))
        }
        return (nil, nil)
    }

    /// Bit 14 (CAP_IPC_LOCK) of `CapEff:` in /proc/self/status.
    static func capIPCLock(_ status: String) -> Bool {
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            let hex = line.dropFirst(7).filter { !$0.isWhitespace }
            return (UInt64(hex, radix: 16) ?? 0) & (1 << 14) != 0
        }
        return false
    }
}

extension TopologySource {
    /// The topology with its host facts: a machine read from itself (live, a captured root)
    /// carries them like a snapshot does, so that every verdict on it applies its kernel's config.
    public func loadWithHost() throws(SourceError) -> Topology {
        var t = try load()
        if t.host.facts == nil { t.host.facts = hostFacts(t) }
        return t
    }

    /// The host checks' facts: read from the machine itself — the live one or a captured
    /// root — or what a snapshot recorded of it (nil for dumps, hwloc, NCCL and demo fabrics).
    public func hostFacts(_ t: Topology) -> HostFacts? {
        switch self {
        case .live: return HostProbe.facts(root: "/")
        case .sysfsRoot(let root): return HostProbe.facts(root: root)
        default: return t.host.facts
        }
    }
}
