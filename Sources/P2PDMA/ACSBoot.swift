import PCITopology

/// What the kernel writes into a port's ACS Control at boot (`pci_enable_acs`): with an IOMMU
/// that asked for ACS, the kernel's defaults (SV, RR, CR, UF of what the port has); then
/// `pci=disable_acs_redir=` and `pci=config_acs=` for the ports they name. How the parameters
/// combine changed in 6.11 ("PCI: Extend ACS configurability"): before, disable_acs_redir clears
/// RR, CR and EC from the value the kernel just wrote; from 6.11 both parameters compute the
/// named port's value from the firmware's, so the kernel's own SV and UF are gone there too.
public enum ACSBoot {
    /// The ACS parameters of a kernel command line (the `pci=` options, split as `pci_setup`
    /// splits them: at commas).
    public struct Parameters: Equatable, Sendable {
        public var disableRedirect: [String] = []
        public var config: [(flags: String, device: String)] = []
        /// Options this kernel does not know (ignored, as the kernel ignores them).
        public var ignored: [String] = []

        public static func == (a: Parameters, b: Parameters) -> Bool {
            a.disableRedirect == b.disableRedirect && a.ignored == b.ignored
                && a.config.map { $0.flags + "@" + $0.device } == b.config.map { $0.flags + "@" + $0.device }
        }

        public init(cmdline: [String], kernel: KernelVersion) {
            for word in cmdline where word.hasPrefix("pci=") {
                for option in word.dropFirst(4).split(separator: ",").map(String.init) {
                    if option.hasPrefix("disable_acs_redir="), kernel.disableACSRedirParameter {
                        disableRedirect += option.dropFirst(18).split(separator: ";").map(String.init)
                    } else if option.hasPrefix("config_acs="), kernel.configACSParameter {
                        for entry in option.dropFirst(11).split(separator: ";") {
                            let parts = entry.split(separator: "@", maxSplits: 1).map(String.init)
                            if parts.count == 2 { config.append((parts[0], parts[1])) } else { ignored.append(String(entry)) }
                        }
                    } else if option.hasPrefix("disable_acs_redir=") || option.hasPrefix("config_acs=") {
                        ignored.append(option)
                    }
                }
            }
        }
    }

    /// Whether a `pci_dev_str_match` device spec names `bdf` (the `[domain:]bus:dev.fn` form;
    /// nil for the forms p2ptop does not model: paths, `pci:vendor:device`).
    static func names(_ spec: String, _ bdf: BDF) -> Bool? {
        guard !spec.hasPrefix("pci:"), !spec.contains("/") else { return nil }
        let full = spec.split(separator: ":").count == 2 ? "0000:" + spec : spec
        guard let b = BDF(full) else { return nil }
        return b == bdf
    }

    /// `0x00xx`: from the last character (bit 0) up, '0' and '1' set the bit, 'x' leaves it.
    static func mask(_ flags: String) -> (mask: ACSBits, value: ACSBits)? {
        var mask: UInt16 = 0, value: UInt16 = 0
        for (bit, ch) in flags.reversed().enumerated() {
            guard bit < 16 else { return nil }
            switch ch {
            case "0": mask |= 1 << bit
            case "1": mask |= 1 << bit; value |= 1 << bit
            case "x", "X": break
            default: return nil
            }
        }
        let known: UInt16 = 0x7f
        guard mask & ~known == 0 else { return nil }
        return (ACSBits(rawValue: mask), ACSBits(rawValue: value))
    }

    /// The ACS Control the kernel leaves at `port`. `firmware`: the value before the kernel
    /// (QEMU's ports reset to 0); nil when a parameter names the port in a form not modelled.
    public static func control(port: BDF, capability: ACSBits, firmware: ACSBits = [], iommuRequestsACS: Bool,
                               parameters p: Parameters, kernel: KernelVersion) -> ACSBits? {
        var ctrl = firmware
        if iommuRequestsACS {
            ctrl.formUnion(capability.intersection([.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding]))
        }
        // The first spec that names the port decides (the kernel's loop stops at a match).
        var redirectNamed = false
        for spec in p.disableRedirect {
            guard let hit = names(spec, port) else { return nil }
            if hit { redirectNamed = true; break }
        }
        if redirectNamed {
            if kernel.acsParametersFromFirmware {
                ctrl = firmware.subtracting(ACSBits.p2pRedirect)
            } else {
                ctrl.subtract(ACSBits.p2pRedirect)
            }
        }
        for entry in p.config {
            guard let hit = names(entry.device, port) else { return nil }
            guard hit else { continue }
            guard let (mask, value) = mask(entry.flags) else { return ctrl }   // "Invalid ACS flags": the port is left
            ctrl = firmware.subtracting(mask).union(value.intersection(mask))
            break
        }
        return ctrl
    }
}
