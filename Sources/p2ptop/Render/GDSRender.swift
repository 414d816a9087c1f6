import P2PDMA
import PCISources
import PCITopology

/// `doctor --gds`: `p2ptop.gds/1` and its text, from one `GDSReadiness`.
enum GDSRender {
    /// The kernel a machine runs, where the source knows it, and where that came from.
    static func runningKernel(_ t: Topology) -> (KernelVersion, source: String)? {
        guard let k = t.host.kernelRelease.flatMap({ KernelVersion(parsing: $0) }) else { return nil }
        switch t.source.kind {
        case .live: return (k, "/proc/sys/kernel/osrelease")
        case .sysfsRoot: return (k, "\(t.source.path ?? "")/proc/sys/kernel/osrelease")
        case .snapshot: return (k, "the snapshot's kernel release")
        default: return nil
        }
    }

    static func check(_ c: GDSCheck) -> JSON {
        .object([("id", .string(c.id)), ("status", .string(c.status.rawValue)), ("detail", .string(c.detail)),
                 ("source", .string(c.source)), ("remedy", c.remedy.map(JSON.string) ?? .null)])
    }

    static func json(_ r: GDSReadiness, _ t: Topology) -> JSON {
        JSON.object([
            ("schema", .string("p2ptop.gds/1")),
            ("kernel", .string(r.kernel.description)),
            ("kernel_source", .string(r.kernelSource)),
            ("driver_facts", .bool(r.facts != nil)),
            ("checks", .array(r.commonChecks.map(check))),
            ("nvidia_checks", .array(r.nvidiaChecks.map(check))),
            ("pairs", .array(r.pairs.map { p in
                .object([("gpu", .string(p.gpu.description)), ("gpu_alias", t.alias(p.gpu).map(JSON.string) ?? .null),
                         ("nvme", .string(p.nvme.description)), ("nvme_alias", t.alias(p.nvme).map(JSON.string) ?? .null),
                         ("stack", .string(p.stack.rawValue)), ("map_type", .string(p.verdict.mapType.rawValue)),
                         ("ready", p.ready.map(JSON.bool) ?? .null), ("checks", .array(p.checks.map(check)))])
            })),
        ])
    }

    static func text(_ r: GDSReadiness, _ t: Topology, style: Style) -> String {
        func name(_ b: BDF) -> String { t.alias(b).map { "\($0) (\(b.compact))" } ?? b.compact }
        var lines = [style.bold("GPUDirect Storage / hipFile in the kernel's P2PDMA mode") + ", kernel \(r.kernel) " + style.dim("(\(r.kernelSource))")]
        if r.facts == nil { lines.append(style.dim("This source records no drivers (only a live machine or a captured root does): their checks are unknown.")) }
        if r.pairs.isEmpty {
            lines.append("No GPU ↔ NVMe pair here (GPUs: NVIDIA or AMD; drives: NVMe class 0108).")
            return lines.joined(separator: "\n")
        }
        let ready = r.pairs.filter { $0.ready == true }.count, not = r.pairs.filter { $0.ready == false }.count
        lines.append("\(r.pairs.count) pair\(r.pairs.count == 1 ? "" : "s"): " + (ready > 0 ? style.good("\(ready) ready") : "0 ready") + ", \(not) not ready"
                     + (r.pairs.count - ready - not > 0 ? ", \(r.pairs.count - ready - not) cannot be told here" : ""))
        lines.append("")
        lines += section("The machine", r.commonChecks, style)
        if r.pairs.contains(where: { $0.stack == .gds }) { lines += section("NVIDIA's driver (GPUDirect Storage)", r.nvidiaChecks, style) }
        for p in r.pairs {
            let failing = (p.checks + p.hostChecks).filter { $0.status == .fail }.count
            let unknown = (p.checks + p.hostChecks).filter { $0.status == .unknown }.count
            let state = p.ready == true ? style.good("ready") : p.ready == false ? style.bad("not ready") + " (\(failing) check\(failing == 1 ? "" : "s") fail)"
                : "cannot tell (\(unknown) check\(unknown == 1 ? "" : "s") unknown here)"
            lines += section("\(name(p.gpu)) ← \(name(p.nvme)), \(p.stack.rawValue): " + state, p.checks, style)
        }
        return lines.joined(separator: "\n")
    }

    static func section(_ title: String, _ checks: [GDSCheck], _ style: Style) -> [String] {
        var lines = [style.bold(title)]
        for c in checks {
            let tag: String
            switch c.status {
            case .pass: tag = style.good("ok  ")
            case .fail: tag = style.bad("FAIL")
            case .warn: tag = style.warn("warn")
            case .unknown: tag = style.dim("?   ")
            }
            lines += TextFit.wrapped("  \(tag) \(c.id.padding(19)) \(c.detail) " + style.dim("[\(c.source)]"), under: 26)
            if let remedy = c.remedy { lines += TextFit.wrapped("       remedy: " + remedy, under: 15) }
        }
        lines.append("")
        return lines
    }
}
