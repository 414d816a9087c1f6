import ArgumentParser
import P2PDMA
import PCITopology

/// `--kernel X.Y` and `--cpu VENDOR:FAMILY`: whose rules decide the verdicts.
struct P2POptions: ParsableArguments {
    @Option(help: ArgumentHelp("Apply this kernel's P2PDMA rules (e.g. 5.15, 6.8; default: the source's kernel, else \(KernelVersion.latest)).", valueName: "X.Y"))
    var kernel: String?

    @Option(help: ArgumentHelp("CPU for the AMD Zen rule, e.g. amd:0x19 or intel:6 (default: the source's CPU, else unknown).", valueName: "vendor:family"))
    var cpu: String?

    func validate() throws {
        if let kernel, KernelVersion(parsing: kernel) == nil {
            throw ValidationError("--kernel '\(kernel)': expected a version like 6.8 or 5.15")
        }
        if let cpu, CPUInfo(parsing: cpu) == nil {
            throw ValidationError("--cpu '\(cpu)': expected vendor:family like amd:0x19 or intel:6")
        }
    }

    func analyzer(for t: Topology) -> P2PAnalyzer {
        let k = kernel.flatMap(KernelVersion.init(parsing:))
        let c = cpu.flatMap(CPUInfo.init(parsing:))
        return P2POptions.analyzer(for: t, kernel: k, cpu: c)
    }

    /// The source's own kernel and CPU where not overridden (else the latest rules, CPU unknown).
    /// The running kernel decides first: where the source's host facts say it was built without
    /// CONFIG_PCI_P2PDMA, every verdict is NOT_SUPPORTED — unless `--kernel` asks about another one.
    static func analyzer(for t: Topology, kernel: KernelVersion? = nil, cpu: CPUInfo? = nil) -> P2PAnalyzer {
        P2PAnalyzer(topology: t, kernel: kernel ?? t.host.kernelRelease.flatMap(KernelVersion.init(parsing:)) ?? .latest,
                    cpu: cpu ?? CPUInfo(vendor: t.host.cpuVendor, family: t.host.cpuFamily),
                    p2pdmaOff: kernel == nil ? t.host.facts?.p2pdmaOffFile : nil)
    }
}
