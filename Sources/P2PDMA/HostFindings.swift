import PCITopology

extension HostFacts {
    /// The IOMMU in words: `off`, `on (dmar0, dmar1), default domain DMA-FQ`, with `iommu=pt` noted.
    public var iommuSummary: String {
        guard !iommuUnits.isEmpty else { return "off (no /sys/class/iommu units)" }
        var s = "on (\(iommuUnits.joined(separator: ", ")))"
        if let d = iommuDefaultDomain { s += ", default domain \(d)" }
        let flags = cmdlineFlags.filter { $0.contains("iommu") }
        if !flags.isEmpty { s += ", " + flags.joined(separator: " ") }
        return s
    }

    public var p2pdmaSummary: String {
        switch p2pdma {
        case .enabled(let e): return "CONFIG_PCI_P2PDMA=y (\(e))"
        case .disabled(let f): return "CONFIG_PCI_P2PDMA not set (\(f))"
        case .unknown(let why): return "CONFIG_PCI_P2PDMA unknown (\(why))"
        }
    }

    public var memlockSummary: String {
        func v(_ x: UInt64?) -> String { x.map { ByteSize.text($0, .prose) } ?? "unlimited" }
        return "\(v(memlockSoft)) soft, \(v(memlockHard)) hard" + (capIPCLock ? ", CAP_IPC_LOCK (no limit for RDMA pins)" : "")
    }
}

extension Doctor {
    /// Findings about the running kernel and this process (live machine or a captured root).
    /// `rdmaPinBytes`: what one RDMA registration would pin (a transfer's buffer).
    public func hostFindings(_ h: HostFacts, rdmaPinBytes: UInt64 = 64 << 20) -> [Finding] {
        var out: [Finding] = []
        switch h.p2pdma {
        case .disabled(let file):
            out.append(Finding(severity: .error, code: "p2pdma-config-off", devices: [],
                               message: "this kernel is built without CONFIG_PCI_P2PDMA (\(file)): no p2pmem providers, no FOLL_PCI_P2PDMA, every pair is refused",
                               remedy: "run a kernel built with CONFIG_PCI_P2PDMA=y (most distribution kernels since 5.x enable it)"))
        case .unknown(let why):
            out.append(Finding(severity: .info, code: "p2pdma-config-unknown", devices: [],
                               message: "cannot tell whether CONFIG_PCI_P2PDMA is set: \(why)",
                               remedy: "check /boot/config-$(uname -r) or zgrep CONFIG_PCI_P2PDMA /proc/config.gz"))
        case .enabled: break
        }
        if let l = h.lockdown, l != "none" {
            out.append(Finding(severity: .warning, code: "lockdown", devices: [],
                               message: "kernel lockdown is '\(l)': user-space BAR access (resourceN mmap, setpci writes) is refused; in-kernel P2PDMA is unaffected",
                               remedy: "only where policy allows: boot with lockdown=none / disable Secure Boot's lockdown; or use a kernel driver (VFIO) instead of resourceN"))
        }
        if h.iomemStrict {
            out.append(Finding(severity: .info, code: "iomem-strict", devices: [],
                               message: "iomem=strict: BARs claimed by a driver cannot be mapped through resourceN",
                               remedy: "unbind the driver (or bind vfio-pci) before mapping its BAR"))
        }
        if !h.rdmaDevices.isEmpty && !h.capIPCLock, let soft = h.memlockSoft, soft < rdmaPinBytes {
            out.append(Finding(severity: .warning, code: "memlock-low", devices: [],
                               message: "RLIMIT_MEMLOCK is \(ByteSize.text(soft, .prose)): ibv_reg_mr of a \(ByteSize.text(rdmaPinBytes, .prose)) buffer on \(h.rdmaDevices.joined(separator: ", ")) fails with ENOMEM (ib_umem_get counts it in pinned_vm)",
                               remedy: "raise it (ulimit -l unlimited, LimitMEMLOCK=infinity in the unit, or memlock in /etc/security/limits.conf) or grant CAP_IPC_LOCK"))
        }
        return out + bootParameterFindings(h)
    }
}
