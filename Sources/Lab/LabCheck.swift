import LinuxFiles
import PCISources
import PCITopology
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// One boot's conformance result.
public struct LabRun: Sendable {
    public var variant: LabVariant
    public var kernel: String
    public var experiments: [LabExperiment]
    /// Set when the boot itself went wrong (no results): counts as a disagreement.
    public var failure: String?
    public var seconds: Double
    /// The doctor's ACS remedy read off this boot's snapshot (for the next variant).
    public var remedy: String?

    public var agrees: Bool { failure == nil && !experiments.isEmpty && experiments.allSatisfy(\.agree) }
}

/// `p2ptop lab check`: boots each variant, lets p2ptop observe the real kernel inside, and
/// predicts every observation from the guest's snapshot outside.
public struct LabCheck {
    public var kernel: LabKernel
    /// The p2ptop binary the guest runs (the host's, over the shared root).
    public var binary: String
    public var timeout: Double = 420

    /// `binary`: as the guest reaches it (`guestBinary`).
    public init(kernel: LabKernel, binary: String) { self.kernel = kernel; self.binary = binary }

    /// The variants `lab check` runs with no flags: Intel and AMD CPUs, the IOMMU, and last the
    /// IOMMU with the doctor's remedy from the IOMMU boot (filled in when that boot is done).
    /// Then the ACS parameters naming two ports (rp1 and rp3) under the IOMMU, each port's
    /// ACSCtl read back: `disable_acs_redir=A;B`, and `config_acs=` with a different value for
    /// each port (RR, CR, EC off at rp1; SV forced on, RR, CR, EC off at rp3). Then lab-hosts
    /// (several host bridges) with Intel, AMD and the IOMMU.
    public static func defaultVariants() -> [LabVariant] {
        variants(.labSwitch)
            + [LabVariant(fabric: .labSwitch, cpu: .intel, iommu: true, append: ["pci=disable_acs_redir=0000:00:10.0;0000:00:12.0"]),
               LabVariant(fabric: .labSwitch, cpu: .intel, iommu: true, append: ["pci=config_acs=0x00xx@0000:00:10.0;0x00x1@0000:00:12.0"])]
            + [LabVariant(fabric: .labHosts, cpu: .intel), LabVariant(fabric: .labHosts, cpu: .amd),
               LabVariant(fabric: .labHosts, cpu: .intel, iommu: true)]
    }

    /// One fabric's four boots: Intel, AMD, the IOMMU, the IOMMU with the doctor's remedy.
    public static func variants(_ fabric: LabFabric) -> [LabVariant] {
        [LabVariant(fabric: fabric, cpu: .intel), LabVariant(fabric: fabric, cpu: .amd),
         LabVariant(fabric: fabric, cpu: .intel, iommu: true), LabVariant(fabric: fabric, cpu: .intel, iommu: true, append: [Self.remedyPlaceholder])]
    }

    /// Stands for "the doctor's remedy from the previous boot" in a variant's arguments.
    public static let remedyPlaceholder = "<doctor's remedy>"

    /// The binary as the guest can reach it: the guest mounts tmpfs over /tmp and /run, so a
    /// p2ptop kept there is copied into the cache first (it needs nothing beside itself).
    public static func guestBinary(_ path: String, cacheRoot: String = LabKernelBuild.defaultCacheRoot()) throws(LabError) -> String {
        guard path.hasPrefix("/tmp/") || path.hasPrefix("/run/") else { return path }
        let dir = cacheRoot + "/bin"
        try makeDirectories(dir)
        guard copyFile(path, dir + "/p2ptop", mode: 0o755) else {
            throw LabError("\(path): the lab guest cannot see /tmp or /run, and copying p2ptop into \(dir) failed")
        }
        return dir + "/p2ptop"
    }

    /// Runs the variants in order; `progress` hears of each boot as it starts and ends.
    public func run(_ variants: [LabVariant], keep: Bool = false, progress: (String) -> Void) throws(LabError) -> [LabRun] {
        var runs: [LabRun] = []
        for var v in variants {
            if v.append.contains(Self.remedyPlaceholder) {
                guard let remedy = runs.last?.remedy else {
                    var failed = LabRun(variant: v, kernel: runs.last?.kernel ?? kernel.version, experiments: [], failure: nil, seconds: 0)
                    failed.failure = "the doctor named no ACS remedy on the previous boot, so there is nothing to apply"
                    runs.append(failed)
                    continue
                }
                v.append = v.append.map { $0 == Self.remedyPlaceholder ? remedy : $0 }
            }
            progress("booting \(v.title)")
            let r = try boot(v, keep: keep)
            progress("\(v.title): \(r.failure ?? "\(r.experiments.filter(\.agree).count)/\(r.experiments.count) agree") (\(Int(r.seconds)) s)")
            runs.append(r)
        }
        return runs
    }

    func boot(_ v: LabVariant, keep: Bool) throws(LabError) -> LabRun {
        let machine = LabMachine(variant: v, kernel: kernel)
        let init_ = GuestInit(command: [binary, "lab", "observe", "--out", GuestInit.resultsMount] + v.fabric.slowDrives.flatMap { ["--slow", $0] }, console: .batch,
                              environment: [("NO_COLOR", "1")])
        let outcome = try machine.boot(init_, timeout: timeout)
        defer { if !keep { LabMachine.discard(outcome) } }
        var run = LabRun(variant: v, kernel: kernel.version, experiments: [], failure: outcome.failure, seconds: outcome.seconds)
        let dir = outcome.results
        guard outcome.failure == nil else { return run }
        guard outcome.status == 0 else {
            let err = (readText(dir + "/stderr") ?? "").split(separator: "\n").last.map(String.init) ?? ""
            run.failure = "p2ptop lab observe exited \(outcome.status ?? -1) in the guest: \(err)"
            return run
        }
        let snapshot: Topology
        do { snapshot = try Snapshot.load(path: dir + "/snapshot.json") } catch { run.failure = "the guest's snapshot: \(error)"; return run }
        guard case .success(let bytes) = FileIO.read(dir + "/observed.json", limit: 64 << 20) else {
            run.failure = "the guest wrote no observed.json"
            return run
        }
        let report = try LabReport.decode(bytes, file: dir + "/observed.json")
        run.kernel = report.kernel
        let conformance = Conformance(snapshot: snapshot, iommu: v.iommu)
        run.experiments = conformance.compare(report, lspci: readText(dir + "/lspci.txt"))
        run.remedy = conformance.doctorRemedy()
        return run
    }
}

/// `p2ptop.lab/1` and the 80-column table.
public enum LabReportRender {
    public static func json(_ runs: [LabRun], kernel: String) -> JSON {
        .object([
            ("schema", .string("p2ptop.lab/1")),
            ("kernel", .string(runs.first?.kernel ?? kernel)),
            ("kernels", .array(runs.reduce(into: [String]()) { if !$0.contains($1.kernel) { $0.append($1.kernel) } }.map(JSON.string))),
            ("agree", .bool(!runs.isEmpty && runs.allSatisfy(\.agrees))),
            ("runs", .array(runs.map { r in
                .object([("kernel", .string(r.kernel)), ("fabric", .string(r.variant.fabric.name)), ("cpu", .string(r.variant.cpu.rawValue)), ("iommu", .bool(r.variant.iommu)),
                         ("append", .string(r.variant.append.joined(separator: " "))), ("seconds", .double((r.seconds * 10).rounded() / 10)),
                         ("failure", r.failure.map(JSON.string) ?? .null), ("agree", .bool(r.agrees)),
                         ("experiments", .array(r.experiments.map { e in
                             .object([("name", .string(e.name)), ("group", .string(e.group)), ("predicted", .string(e.predicted)), ("observed", .string(e.observed)),
                                      ("agree", .bool(e.agree)), ("detail", .string(e.detail))])
                         }))])
            })),
        ])
    }

    /// experiment · p2ptop predicted · the kernel did · agree, at most `width` columns.
    public static func table(_ runs: [LabRun], width: Int = 80, good: (String) -> String = { $0 }, bad: (String) -> String = { $0 }) -> String {
        let agreeW = 5, predW = 20, obsW = 20
        let nameW = max(20, width - agreeW - predW - obsW - 3)
        func cell(_ s: String, _ w: Int) -> String {
            let c = Array(s)
            if c.count <= w { return s + String(repeating: " ", count: w - c.count) }
            return String(c.prefix(w - 1)) + "…"
        }
        var lines: [String] = []
        for r in runs {
            lines.append("Linux \(r.kernel), \(r.variant.title) — \(Int(r.seconds)) s")
            if let f = r.failure { lines.append("  " + bad("FAILED: " + f)); lines.append(""); continue }
            lines.append(cell("experiment", nameW) + " " + cell("p2ptop predicted", predW) + " " + cell("the kernel did", obsW) + " agree")
            for e in r.experiments {
                let mark = e.agree ? good("yes") : bad("NO")
                lines.append(cell(e.name, nameW) + " " + cell(e.predicted, predW) + " " + cell(e.observed, obsW) + " " + mark)
                // Values too long for their column get a line of their own.
                if e.predicted.count > predW || e.observed.count > obsW {
                    if e.predicted == e.observed { lines.append("  " + cell("both: " + e.predicted, width - 2)) } else {
                        lines.append("  " + cell("predicted: " + e.predicted, width - 2))
                        lines.append("  " + cell("kernel:    " + e.observed, width - 2))
                    }
                }
                if !e.agree && !e.detail.isEmpty { lines.append("  " + cell(e.detail, width - 2)) }
            }
            lines.append("")
        }
        let all = runs.flatMap(\.experiments)
        let disagree = all.filter { !$0.agree }.count + runs.filter { $0.failure != nil }.count
        lines.append(disagree == 0 ? good("every experiment agrees (\(all.count) in \(runs.count) boots)")
                                   : bad("\(disagree) disagreement(s) in \(all.count) experiments, \(runs.count) boots"))
        return lines.joined(separator: "\n")
    }
}
