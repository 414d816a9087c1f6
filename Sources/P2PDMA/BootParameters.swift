import PCITopology

extension Doctor {
    /// The kernel command line against what the ports' ACS Control says now: parameters that
    /// cannot have had an effect on this kernel (`pci=noacs` is no mainline option;
    /// `pcie_acs_override=` exists only on patched kernels and regroups IOMMU groups without
    /// touching ACSCtl; an ACS option this kernel does not know), and ports an ACS parameter
    /// names whose ACSCtl still redirects (the 6.11 parser that took one port, a spec that
    /// names no port) — each with the remedy that works on this kernel.
    public func bootParameterFindings(_ h: HostFacts) -> [Finding] {
        let t = analyzer.topology, kernel = analyzer.kernel
        var out: [Finding] = []
        for word in h.cmdlineFlags {
            if word == "pci=noacs" || word.hasPrefix("pci=") && word.dropFirst(4).split(separator: ",").contains("noacs") {
                out.append(Finding(severity: .warning, code: "boot-param-noacs", devices: [],
                                   message: "pci=noacs is not a mainline kernel option: pci_setup() ignores it (\"PCI: Unknown option\"), so ACS is as the firmware and the IOMMU left it",
                                   remedy: Remedies.acsRedirectOff(redirectingPorts(), kernel: kernel) ?? Remedies.acsRedirectOffUnavailable(kernel: kernel)))
            }
            if word.hasPrefix("pcie_acs_override") {
                out.append(Finding(severity: .warning, code: "boot-param-acs-override", devices: [],
                                   message: "\(word) exists only on kernels with the out-of-tree ACS override patch; where it works it changes IOMMU groups, not ACS Control — the P2PDMA walk still sees every redirect bit",
                                   remedy: Remedies.acsRedirectOff(redirectingPorts(), kernel: kernel) ?? Remedies.acsRedirectOffUnavailable(kernel: kernel)))
            }
        }
        let parameters = ACSBoot.Parameters(cmdline: h.cmdlineFlags, kernel: kernel)
        for option in parameters.ignored {
            out.append(Finding(severity: .warning, code: "boot-param-unknown", devices: [],
                               message: "pci=\(option): kernel \(kernel) has no such ACS option (disable_acs_redir came in 4.19, config_acs in 6.11, each naming port@BDF): it had no effect",
                               remedy: Remedies.acsRedirectOff(redirectingPorts(), kernel: kernel) ?? Remedies.acsRedirectOffUnavailable(kernel: kernel)))
        }
        let specs = parameters.disableRedirect + parameters.config.map(\.device)
        let named = t.devices.filter { d in d.acs != nil && specs.contains { ACSBoot.names($0, d.bdf) == true } }
        let stillRedirecting = named.filter { !($0.acs!.control.intersection(ACSBits.p2pRedirect)).isEmpty }
        if !stillRedirecting.isEmpty {
            let multi = specs.count > 1 ? kernel.multiPortACSParameters : true
            let why = multi == false ? "kernel \(kernel)'s parser takes one port (\(KernelRules.configACSMultiPort.commit) came later)"
                : multi == nil ? "if kernel \(kernel.full) lacks \"\(KernelRules.configACSMultiPort.commit)\", only the first port took it"
                : "something rewrote ACSCtl after boot (setpci, a driver, a hot-plug)"
            out.append(Finding(severity: .warning, code: "boot-param-no-effect", devices: stillRedirecting.map(\.bdf),
                               message: "the kernel command line turns ACS redirect off at " + stillRedirecting.map { $0.bdf.description }.joined(separator: ", ")
                                   + ", but ACSCtl still has " + stillRedirecting.map { "\($0.acs!.control.intersection(ACSBits.p2pRedirect).lspciFlags) there" }.joined(separator: "; ") + ": \(why)",
                               remedy: Remedies.acsRedirectOff(stillRedirecting.map(\.bdf), kernel: kernel) ?? Remedies.acsRedirectOffUnavailable(kernel: kernel)))
        }
        let unmatched = specs.filter { s in ACSBoot.names(s, BDF(bus: 0, device: 0, function: 0)) != nil && !t.devices.contains { ACSBoot.names(s, $0.bdf) == true } }
        if !unmatched.isEmpty {
            out.append(Finding(severity: .info, code: "boot-param-no-device", devices: [],
                               message: "the ACS parameters name " + unmatched.joined(separator: ", ") + ", which is no function on this machine",
                               remedy: "name the ports by their [domain:]bus:device.function as lspci -D shows them"))
        }
        return out
    }

    /// Ports with ACS redirect set now: what a remedy names when a parameter did nothing.
    func redirectingPorts() -> [BDF] {
        analyzer.topology.devices.filter { d in d.acs.map { !$0.control.intersection(ACSBits.p2pRedirect).isEmpty } ?? false }.map(\.bdf)
    }
}
