import ArgumentParser
import P2PDMA
import PCISources
import PCITopology
import Reports

/// `p2ptop doctor [A B]`: what stands in the way of P2P DMA here, and the concrete remedy.
/// Remedies are shown, never executed.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor", abstract: "Findings that block or slow P2P DMA, each with a concrete remedy (shown, never run).", discussion: "Examples:\n  p2ptop doctor                      # every finding on this machine\n  p2ptop doctor gpu0 nvme1           # only what blocks this pair\n  p2ptop doctor --gds                # GPUDirect Storage / hipFile readiness per GPU ↔ NVMe pair")

    @OptionGroup var source: SourceOptions
    @OptionGroup var p2p: P2POptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "Optionally a provider and a client: only what concerns that pair.", completion: Completions.device)
    var pair: [String] = []

    @Flag(help: "GPUDirect Storage / hipFile readiness of every GPU ↔ NVMe pair in the kernel's P2PDMA mode: each check with its source.")
    var gds = false

    func validate() throws {
        if pair.count == 1 || pair.count > 2 { throw ValidationError("give no device or exactly two (provider and client)") }
        if gds && !pair.isEmpty { throw ValidationError("--gds checks every GPU ↔ NVMe pair: give no devices with it") }
    }

    func run() throws {
        let t = try source.load()
        if gds {
            let r = GDSReadiness(p2p.analyzer(for: t), host: t.host.facts, facts: source.source.gdsFacts(), runningKernel: GDSRender.runningKernel(t))
            return emit(output.json ? GDSRender.json(r, t).serialized(pretty: true) : GDSRender.text(r, t, style: output.style))
        }
        let named = pair.count == 2 ? ((pair[0], pair[1]), try t.device(named: pair[0]).bdf, try t.device(named: pair[1]).bdf) : nil
        let report = DoctorReport(p2p.analyzer(for: t), host: t.host.facts, pair: named.map { (names: $0.0, provider: $0.1, client: $0.2) })
        emit(output.json ? DoctorRender.json(report, t).serialized(pretty: true) : DoctorRender.text(report, style: output.style))
    }
}

/// `p2ptop.doctor/1` and doctor's text, from one `DoctorReport`.
enum DoctorRender {
    static func json(_ r: DoctorReport, _ t: Topology) -> JSON {
        JSON.object([
            ("schema", .string("p2ptop.doctor/1")),
            ("kernel", .string(r.kernel.description)),
            ("cpu", .string(r.cpu.description)),
            ("pair", r.pair.map { VerdictJSON.pair($0.verdict, t) } ?? .null),
            ("host", r.host.map(HostJSON.facts) ?? .null),
            ("kernel_release", .string(r.kernel.full)),
            ("kernel_rules", .array(r.rules.map { rule, state in
                .object([("id", .string(rule.id)), ("summary", .string(rule.summary)), ("releases", .string(rule.releases)),
                         ("holds", state.map(JSON.bool) ?? .null), ("commit", .string(rule.commit)),
                         ("verified_on", .array(rule.verified.map(JSON.string))), ("evidence", .string(rule.evidence))])
            })),
            ("findings", .array(r.findings.map { f in
                .object([("severity", .string(f.severity.rawValue)), ("code", .string(f.code)),
                         ("devices", .array(f.devices.map { .string($0.description) })),
                         ("message", .string(f.message)), ("remedy", .string(f.remedy))])
            })),
        ])
    }

    static func text(_ r: DoctorReport, style: Style) -> String {
        var lines: [String] = []
        if let h = r.host {
            func row(_ k: String, _ v: String) { lines.append(style.dim(k.padding(10)) + v) }
            row("kernel", "\(r.kernel), " + h.p2pdmaSummary)
            row("iommu", h.iommuSummary)
            row("lockdown", (h.lockdown ?? "unknown (no /sys/kernel/security/lockdown: securityfs not mounted, or no lockdown LSM)") + (h.iomemStrict ? ", iomem=strict" : ""))
            row("memlock", h.memlockSummary)
            row("rdma", h.rdmaDevices.isEmpty ? "no RDMA devices" : h.rdmaDevices.joined(separator: ", "))
            lines.append("")
            lines.append(style.bold("The kernel's rules p2ptop applies to \(r.kernel.full)") + style.dim(" (release · rule · lab)"))
            for (rule, state) in r.rules {
                let unsure = state == nil ? " — cannot tell from the release string whether this kernel has the fix" + (rule.stableNote.isEmpty ? "" : " (\(rule.stableNote))") : ""
                lines.append("  " + rule.releases.padding(8) + rule.summary + unsure + style.dim(" · " + rule.verification))
            }
            lines.append("")
        }
        if let (names, v) = r.pair {
            lines.append(style.bold("\(names.0) → \(names.1)") + ": " + v.mapType.paint(v.mapType.rawValue, style) + " — " + v.reason)
            lines.append("")
        }
        if r.findings.isEmpty { lines.append(style.good("No findings: nothing here stands in the way of P2P DMA.")) }
        for f in r.findings {
            let tag: String
            switch f.severity {
            case .error: tag = style.bad("error  ")
            case .warning: tag = style.warn("warning")
            case .info: tag = style.dim("info   ")
            }
            lines.append("\(tag) \(f.message)")
            lines.append("        remedy: \(f.remedy)")
        }
        return lines.joined(separator: "\n")
    }
}
