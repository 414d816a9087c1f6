import PCITopology

/// The remedies the doctor and `path` propose, each true for the kernel it is given: a boot
/// parameter only where that kernel has it (whole, ready to paste), a newer kernel only where
/// some release's allowlist has the host bridge (naming that release).
public enum Remedies {
    /// `pci=config_acs` flags that turn RR (bit 2), CR (bit 3) and EC (bit 5) off and leave
    /// the other bits as they are; the string runs from bit 5 down to bit 0.
    public static let configACSRedirectOff = "0x00xx"

    /// Turning ACS redirect off at these ports; nil when the kernel offers no parameter. Two or
    /// more ports on a kernel whose parser takes only one (6.11 until the fix): one port on the
    /// command line, the others at run time with setpci (the P2PDMA walk reads ACSCtl when it
    /// maps; IOMMU groups keep their boot-time shape).
    public static func acsRedirectOff(_ ports: [BDF], kernel: KernelVersion) -> String? {
        guard kernel.disableACSRedirParameter, let first = ports.first else { return nil }
        let multi = ports.count > 1 ? kernel.multiPortACSParameters : true
        if multi == false {
            let rest = ports.dropFirst().map { "setpci -s \($0) ECAP0d+6.w=0000:\(acsRedirectMask)" }.joined(separator: "; ")
            return "boot with pci=disable_acs_redir=\(first) (kernel \(kernel)'s parser takes one port: \(KernelRules.configACSMultiPort.commit) came in "
                + "\(KernelRules.configACSMultiPort.until!)) and at run time \(rest); or run a kernel with that fix, where "
                + "pci=disable_acs_redir=" + ports.map(\.description).joined(separator: ";") + " names them all"
        }
        var text = "boot with pci=disable_acs_redir=" + ports.map(\.description).joined(separator: ";")
        if kernel.configACSParameter {
            text += " or, per port, with pci=config_acs=" + ports.map { "\(configACSRedirectOff)@\($0)" }.joined(separator: ";")
        }
        if multi == nil {
            text += " (if kernel \(kernel.full) lacks \"\(KernelRules.configACSMultiPort.commit)\", only the first port takes it: check ACSCtl with lspci -vvv after the boot)"
        }
        return text
    }

    /// ACS Control's RR (bit 2), CR (bit 3) and EC (bit 5): setpci's mask for turning them off.
    public static let acsRedirectMask = "002c"

    /// When the kernel has no parameter for it.
    public static func acsRedirectOffUnavailable(kernel: KernelVersion) -> String {
        "kernel \(kernel) has no pci=disable_acs_redir (added in 4.19): turn ACS redirect off in the firmware, or run 4.19 or later"
    }

    /// The entry some release has (or had) for this host bridge, any kernel.
    public static func anyRelease(_ hb: HostBridge) -> AllowlistEntry? {
        guard let v = hb.vendorID, let d = hb.deviceID else { return nil }
        return Allowlist.all.filter { $0.vendor == v && ($0.device == nil || $0.device == d) }.min { $0.since < $1.since }
    }

    /// What to do about a host bridge the kernel's allowlist lacks.
    public static func hostBridgeNotAllowlisted(_ hb: HostBridge, kernel: KernelVersion, cpu: CPUInfo) -> String {
        let id = hb.vendorID.map { hex($0, width: 4) + ":" + hex(hb.deviceID ?? 0, width: 4) } ?? "with no host-bridge device"
        var alternatives = ["keep P2P pairs below one PCIe switch without ACS redirect (BUS_ADDR needs no allowlist)"]
        if hb.domain >= 0x10000 {
            alternatives.append("turn Intel VMD off in the firmware, so that the devices behind it sit on the platform's root bus")
        }
        if !cpu.isAMDZenOrLater && hb.domain < 0x10000 { alternatives.append("an AMD Zen host, whose root complexes Linux 5.9+ allows without a list") }
        let instead = alternatives.joined(separator: "; or ")
        if let e = anyRelease(hb) {
            if e.since > kernel {
                let same = e.requiresSameHostBridge ? " (both devices under this one host bridge)" : ""
                return "run Linux \(e.since) or later: its allowlist has \(id) (\(e.part))\(same); or \(instead)"
            }
            if let until = e.until, until <= kernel {
                return "only Linux \(e.since) listed \(id) (\(e.part); dropped in \(until)); \(instead)"
            }
        }
        guard hb.vendorID != nil else {
            let what = hb.domain >= 0x10000 ? " (an Intel VMD domain)" : ""
            return "root bus \(hex(hb.domain, width: 4)):\(hex(hb.rootBus, width: 2))\(what) has no host-bridge device, so no allowlist entry can match it: \(instead)"
        }
        let vmd = hb.domain >= 0x10000 ? " (the root port of an Intel VMD domain)" : ""
        return "no Linux release allowlists host bridge \(id)\(vmd): \(instead)"
    }
}
