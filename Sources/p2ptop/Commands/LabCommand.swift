import ArgumentParser
import Lab
import LinuxFiles
import PCISources
import PCITopology

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `p2ptop lab …`: the real Linux kernel in the loop, on emulated PCIe fabrics under QEMU.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab", abstract: "The kernel lab: boot a CONFIG_PCI_P2PDMA kernel under QEMU on an emulated PCIe fabric, run p2ptop inside, check the model against it.",
        discussion: """
            p2ptop lab kernel     build (or reuse) a lab kernel (--source 6.1|6.12|newest); its path is the last line
            p2ptop lab kernels    the lab kernels built so far
            p2ptop lab fabrics    the emulated machines
            p2ptop lab run        the explorer on the real kernel (or -- COMMAND…)
            p2ptop lab check      every prediction against what the kernel does (exit 1 on any disagreement)
            p2ptop lab summary    kernel × experiment group, from a lab check --json document

            Examples:
              p2ptop lab check
            """,
        subcommands: [LabKernelCommand.self, LabKernelsCommand.self, LabFabricsCommand.self, LabRunCommand.self, LabCheckCommand.self, LabSummaryCommand.self, LabObserveCommand.self, LabHoldCommand.self])
}

/// `--kernel PATH`: a user's bzImage instead of the lab's own.
struct LabKernelOption: ParsableArguments {
    @Option(name: .customLong("kernel"), help: ArgumentHelp("Boot this bzImage (built with CONFIG_PCI_P2PDMA=y) instead of the lab kernel.", valueName: "bzImage"))
    var image: String?

    /// The kernel to boot: the user's (checked), else the cached lab kernel.
    func resolve() throws -> LabKernel {
        if let image {
            do { return try LabKernelBuild.check(image: image) } catch { throw CommandError(message: error.message) }
        }
        if let k = LabKernelBuild.findCached() { return k }
        throw CommandError(message: "no lab kernel yet: run `p2ptop lab kernel` first (it builds one in about 5–13 minutes here), or pass --kernel bzImage")
    }

    /// This p2ptop as the guest reaches it.
    func guestBinary() throws -> String {
        do { return try LabCheck.guestBinary(FileIO.executablePath()) } catch { throw CommandError(message: error.message) }
    }
}

/// The variant flags of `lab run` and `lab check`.
struct LabVariantOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The lab fabric (p2ptop lab fabrics).", valueName: "name"))
    var fabric: String?

    @Option(help: ArgumentHelp("The guest's CPU: intel or amd (AMD family ≥ 0x17 lets pairs cross root ports).", valueName: "vendor"))
    var cpu: LabCPU?

    @Flag(help: "An emulated Intel IOMMU (intel_iommu=on): the kernel turns ACS redirect on.")
    var iommu = false

    @Option(help: ArgumentHelp("Extra kernel arguments, e.g. pci=disable_acs_redir=0000:00:12.0.", valueName: "args"))
    var append: String?

    @Option(help: ArgumentHelp("QEMU accelerator: tcg or kvm.", valueName: "accel"))
    var accel = "tcg"

    var given: Bool { fabric != nil || cpu != nil || iommu || append != nil }

    func variant() throws -> LabVariant {
        let name = fabric ?? LabFabric.labSwitch.name
        guard let f = LabFabric.named(name) else {
            throw CommandError(message: "--fabric \(name): expected one of \(LabFabric.all.map(\.name).joined(separator: ", "))")
        }
        return LabVariant(fabric: f, cpu: cpu ?? .intel, iommu: iommu, append: append.map { $0.split(separator: " ").map(String.init) } ?? [])
    }

    func validate() throws {
        guard ["tcg", "kvm"].contains(accel) else { throw ValidationError("--accel \(accel): expected tcg or kvm") }
    }
}

extension LabCPU: ExpressibleByArgument {}


struct LabKernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel", abstract: "Build (or reuse) the lab kernel: tinyconfig + the lab's fragment, cached per source version and fragment; prints its path last.", discussion: "Examples:\n  p2ptop lab kernel\n  p2ptop lab kernel --source 6.1\n  p2ptop lab kernel --source newest\n  p2ptop lab kernel --print-config")

    @Option(help: ArgumentHelp("6.1, 6.12 or newest (Debian's linux-source-X.Y: installed, or fetched into the cache without installing), or a kernel source tree or tarball.", valueName: "source"))
    var source: String = LabKernelBuild.defaultSeries

    @Option(name: .customLong("kernel"), help: ArgumentHelp("Check this bzImage instead of building: its config must have what the lab needs.", valueName: "bzImage"))
    var image: String?

    @Flag(help: "Rebuild even when a cached kernel exists.")
    var force = false

    @Flag(name: .customLong("print-config"), help: "Print the lab's config fragment and exit.")
    var printConfig = false

    @Option(help: "make -j (default: the number of CPUs).")
    var jobs: Int?

    func run() throws {
        if printConfig { emit(LabKernelConfig.fragment); return }
        if let image {
            let k: LabKernel
            do { k = try LabKernelBuild.check(image: image) } catch { throw CommandError(message: error.message) }
            diagnose("p2ptop: \(image): \(k.config.map { "config \($0)" } ?? "no config found") has what the lab needs\n")
            emit(k.image)
            return
        }
        let path: String
        do { path = try LabKernelSource().resolve(LabKernelSource.Spec(source)) { diagnose("p2ptop lab: \($0)\n") } }
        catch { throw CommandError(message: "lab kernel --source \(source): \(error)") }
        let build = LabKernelBuild(source: path, jobs: jobs)
        let progress = BuildProgressLine()
        let k: LabKernel
        do { k = try build.build(force: force) { progress.show($0) } } catch { throw CommandError(message: "lab kernel: \(error)") }
        progress.clear()
        if let s = k.buildSeconds {
            diagnose("p2ptop lab: built Linux \(k.version) in \(Int(s)) s (\(build.jobs) jobs)\n")
        } else {
            let took = readText(k.image.replacingLast("bzImage", with: "build-seconds")).map { "; its build took \($0.filter(\.isNumber)) s" } ?? ""
            diagnose("p2ptop lab: Linux \(k.version) from the cache\(took)\n")
        }
        emit(k.image)
    }
}

/// A kernel build's progress on stderr: a bar on a terminal, a line a minute otherwise.
final class BuildProgressLine {
    let tty = isatty(2) != 0
    var lastLine = -1.0

    func show(_ p: LabKernelBuild.BuildProgress) {
        switch p {
        case .message(let m): diagnose("p2ptop lab: \(m)\n")
        case .compiling(let done, let estimate, let seconds):
            let frac = min(1, Double(done) / Double(max(1, estimate)))
            if tty {
                let bar = String(repeating: "█", count: Int(frac * 24)) + String(repeating: "░", count: 24 - Int(frac * 24))
                fputs("\r\(bar) \(done)/~\(estimate) objects, \(Int(seconds) / 60)m\(String(format2d(Int(seconds) % 60)))s ", stderr)
            } else if seconds - lastLine >= 60 || lastLine < 0 {
                lastLine = seconds
                diagnose("p2ptop lab: compiling: \(done)/~\(estimate) objects after \(Int(seconds)) s\n")
            }
        }
    }

    func clear() { if tty { fputs("\r" + String(repeating: " ", count: 60) + "\r", stderr) } }
}

func format2d(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

extension String {
    func replacingLast(_ what: String, with: String) -> String {
        hasSuffix(what) ? String(dropLast(what.count)) + with : self
    }
}

/// `p2ptop lab kernels`: what `lab kernel` has built, newest last.
struct LabKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kernels", abstract: "The lab kernels built so far: version, path, build time; the default one marked.", discussion: "Examples:\n  p2ptop lab kernels\n  p2ptop lab kernels --json")

    @OptionGroup var output: OutputOptions

    func run() throws {
        let built = LabKernelBuild.builtKernels(), chosen = LabKernelBuild.findCached()?.image
        emit(output.json ? Self.json(built, chosen: chosen).serialized(pretty: true) : Self.text(built, chosen: chosen))
    }

    static func json(_ built: [(kernel: LabKernel, current: Bool, folder: String)], chosen: String?) -> JSON {
        JSON.object([
            ("schema", .string("p2ptop.lab-kernels/1")),
            ("fragment", .string(LabKernelConfig.fragmentHash)),
            ("kernels", .array(built.map { b in
                .object([("version", .string(b.kernel.version)), ("path", .string(b.kernel.image)),
                         ("build_seconds", b.kernel.buildSeconds.map { .int(Int64($0)) } ?? .null),
                         ("current_fragment", .bool(b.current)), ("default", .bool(b.kernel.image == chosen))])
            })),
        ])
    }

    static func text(_ built: [(kernel: LabKernel, current: Bool, folder: String)], chosen: String?) -> String {
        guard !built.isEmpty else { return "no lab kernel built yet: p2ptop lab kernel [--source 6.1|6.12|newest]" }
        var lines: [String] = []
        for b in built {
            let took = b.kernel.buildSeconds.map { "built in \(Int($0) / 60) min \(format2d(Int($0) % 60)) s" } ?? "build time not recorded"
            var line = "Linux " + b.kernel.version.padding(10) + took
            if b.kernel.image == chosen { line += " (default)" }
            if !b.current { line += " (an older fragment: not booted)" }
            lines.append(line)
            lines.append("  " + b.kernel.image)
        }
        return lines.joined(separator: "\n")
    }
}

struct LabFabricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fabrics", abstract: "The lab's emulated machines, and the variants lab check boots.", discussion: "Examples:\n  p2ptop lab fabrics --json")

    @OptionGroup var output: OutputOptions

    func run() throws {
        let variants = LabCheck.defaultVariants()
        emit(output.json ? Self.json(variants).serialized(pretty: true) : Self.text(variants, style: output.style))
    }

    static func json(_ variants: [LabVariant]) -> JSON {
        JSON.object([
            ("schema", .string("p2ptop.lab-fabrics/1")),
            ("fabrics", .array(LabFabric.all.map { f in
                .object([("name", .string(f.name)), ("summary", .string(f.summary)),
                         ("drives", .array(f.drives.map { d in
                             .object([("label", .string(d.label)), ("bus", .string(d.bus)), ("cmb_mib", d.cmbMiB.map { .int(Int64($0)) } ?? .null)])
                         })),
                         ("qemu", .array(QEMUFabric.arguments(f, iommu: false) { "\($0).img" }.map(JSON.string)))])
            })),
            ("check_variants", .array(variants.map { .string($0.title) })),
        ])
    }

    static func text(_ variants: [LabVariant], style: Style) -> String {
        var lines: [String] = []
        for f in LabFabric.all {
            lines.append(style.bold(f.name))
            lines += TextFit.wrapped("  " + f.summary, under: 2)
            for d in f.devices { lines.append("    " + describe(d)) }
        }
        lines.append("")
        lines.append("p2ptop lab check boots:")
        lines += variants.map { "  " + $0.title }
        return lines.joined(separator: "\n")
    }

    static func describe(_ d: LabDevice) -> String {
        switch d {
        case .rootPort(let id, let slot, _, let bus): "\(id): root port at \(bus == "pcie.0" ? "00" : bus):\(hex2(slot)).0 (ACS capability)"
        case .expanderBridge(let id, let slot, let n): "\(id): pxb-pcie expander bridge at 00:\(hex2(slot)).0, a host bridge with root bus \(hex2(n))"
        case .switchUpstream(let id, let bus): "\(id): x3130 switch upstream port below \(bus) (no ACS)"
        case .switchDownstream(let id, let bus, _, _): "\(id): xio3130 downstream port of \(bus) (no ACS)"
        case .nvme(let n): "\(n.label): NVMe below \(n.bus)" + (n.function.map { ", function \($0)" } ?? "") + (n.cmbMiB.map { ", \($0) MiB CMB (p2pmem)" } ?? "")
            + (n.readBytesPerSecond.map { ", reads throttled to \($0 >> 10) KiB/s" } ?? "")
        case .ivshmem(let l, let slot, let size): "\(l): ivshmem-plain at 00:\(hex2(slot)).0, \(size) MiB 64-bit prefetchable BAR2, no driver"
        case .nic(let l, let slot): "\(l): virtio NIC at 00:\(hex2(slot)).0 for soft-RoCE (restricted: no network beyond the guest)"
        }
    }
}

struct LabRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Boot a lab fabric and run p2ptop (the explorer by default, or -- COMMAND…) on the real kernel; the guest always powers off.", discussion: "Examples:\n  p2ptop lab run                                  # the explorer on the real kernel\n  p2ptop lab run -- p2ptop doctor")

    @OptionGroup var variantOptions: LabVariantOptions
    @OptionGroup var kernelOption: LabKernelOption

    @Option(help: "Stop the guest after this many seconds.")
    var timeout: Double = 3600

    @Flag(help: "Keep the run folder (disks, init, results, console log).")
    var keep = false

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The command to run in the guest (after --).", valueName: "command"))
    var command: [String] = []

    func run() throws {
        let kernel = try kernelOption.resolve()
        let variant = try variantOptions.variant()
        let interactive = isatty(0) != 0 && isatty(1) != 0
        let size = terminalSize()
        let guest = GuestInit.session(command: command, binary: try kernelOption.guestBinary(), variant: variant,
                                      terminal: interactive ? (size.rows, size.columns, getenv("TERM").map { String(cString: $0) } ?? "xterm-256color") : nil,
                                      noColor: getenv("NO_COLOR").map { String(cString: $0) })
        let machine = LabMachine(variant: variant, kernel: kernel, accel: variantOptions.accel)
        if !interactive { diagnose("p2ptop lab: booting \(machine.variant.title) (Linux \(kernel.version))\n") }
        let outcome: LabMachine.Outcome
        do { outcome = try machine.boot(guest, timeout: timeout) }
        catch { throw CommandError(message: "lab: \(error)") }
        defer { if !keep { LabMachine.discard(outcome) } else { diagnose("p2ptop lab: kept \(outcome.results)\n") } }
        if !interactive {
            if let out = readText(outcome.results + "/stdout") { fputs(out, stdout) }
            if let err = readText(outcome.results + "/stderr") { fflush(stdout); diagnose(err) }
        }
        fflush(stdout)
        if let f = outcome.failure { throw CommandError(message: "lab: \(f)", code: P2PExit.usage) }
        diagnose("p2ptop lab: the guest powered off after \(format2(outcome.seconds)) s\n")
        throw ExitCode(outcome.status ?? P2PExit.usage)
    }
}

struct LabCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Conformance: boot every lab variant, predict each experiment from the guest's snapshot, run it on the real kernel, compare (exit 1 on any disagreement).", discussion: "Examples:\n  p2ptop lab check\n  p2ptop lab check --kernels all\n  p2ptop lab check --kernels 6.1,7.2 --cpu amd --json")

    @OptionGroup var variantOptions: LabVariantOptions
    @OptionGroup var kernelOption: LabKernelOption
    @OptionGroup var output: OutputOptions

    @Option(help: "Stop a guest after this many seconds.")
    var timeout: Double = 420

    @Flag(help: "Keep each boot's folder (disks, results, console log).")
    var keep = false

    @Option(help: ArgumentHelp("Also write the p2ptop.lab/1 document here (the text table still goes to stdout).", valueName: "file"), completion: Completions.anyFile)
    var record: String?

    @Option(help: ArgumentHelp("The built lab kernels to check: all, or a list of series such as 6.1,7.2 (newest: the highest built; p2ptop lab kernels); default: the default one.", valueName: "list"))
    var kernels: String?

    /// The kernels to boot, in ascending order.
    func selectedKernels() throws -> [LabKernel] {
        guard let kernels else { return [try kernelOption.resolve()] }
        guard kernelOption.image == nil else { throw CommandError(message: "--kernels and --kernel: give one of them") }
        let built = LabKernelBuild.builtKernels().filter(\.current).map(\.kernel)
        if kernels == "all" {
            guard !built.isEmpty else { throw CommandError(message: "--kernels all: no lab kernel built yet (p2ptop lab kernel --source 6.1|6.12|newest)") }
            return built
        }
        var out: [LabKernel] = []
        for item in kernels.split(separator: ",").map(String.init) {
            if item == "newest" {
                guard let k = built.last else { throw CommandError(message: "--kernels newest: no lab kernel built yet (p2ptop lab kernel --source newest)") }
                if !out.contains(where: { $0.image == k.image }) { out.append(k) }
                continue
            }
            guard case .series = LabKernelSource.Spec(item) else { throw CommandError(message: "--kernels \(kernels): expected all, or series such as 6.1,7.2 (newest: the highest built)") }
            guard let k = LabKernelBuild.cached(series: item) else {
                throw CommandError(message: "--kernels: no \(item) lab kernel built (built: \(built.map(\.version).joined(separator: ", ")); p2ptop lab kernel --source \(item))")
            }
            if !out.contains(where: { $0.image == k.image }) { out.append(k) }
        }
        return out
    }

    func run() throws {
        let kernels = try selectedKernels()
        let binary = try kernelOption.guestBinary()
        let variants = variantOptions.given ? [try variantOptions.variant()] : LabCheck.defaultVariants()
        let start = Monotonic.seconds()
        let runs: [LabRun]
        do { runs = try LabCheck.run(kernels: kernels, binary: binary, variants: variants, timeout: timeout, keep: keep) { diagnose("p2ptop lab: \($0)\n") } }
        catch { throw CommandError(message: "lab: \(error)") }
        let document = LabReportRender.json(runs, kernel: kernels[0].version)
        if let record, let e = FileIO.writeAtomically(record, Array(document.serialized(pretty: true).utf8)) {
            throw CommandError(message: "\(record): cannot write: \(e)")
        }
        let s = output.style
        emit(output.json ? document.serialized(pretty: true)
                         : LabReportRender.table(runs, good: { s.good($0) }, bad: { s.bad($0) }) + (kernels.count > 1 ? "\n\n" + LabSummary(runs: runs).text : ""))
        diagnose("p2ptop lab: \(runs.count) boots in \(Int(Monotonic.seconds() - start)) s\n")
        if !runs.allSatisfy(\.agrees) { throw ExitCode(P2PExit.refused) }
    }
}

/// `p2ptop lab summary FILE`: kernel × experiment group (agree/total) from a recorded check.
struct LabSummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "summary", abstract: "Kernel × experiment group (agreeing/all) from a lab check --json document (exit 1 if any disagrees).", discussion: "Examples:\n  p2ptop lab check --kernels all --record lab.json\n  p2ptop lab summary lab.json --markdown")

    @Argument(help: ArgumentHelp("A p2ptop.lab/1 document (lab check --json or --record).", valueName: "file"), completion: Completions.anyFile)
    var file: String

    @Flag(help: "A Markdown table (the README's).")
    var markdown = false

    func run() throws {
        let bytes: [UInt8]
        switch FileIO.read(file, limit: 64 << 20) {
        case .success(let b): bytes = b
        case .failure(let e): throw CommandError(message: "\(file): \(e)")
        }
        let doc: JSON
        do { doc = try JSON.parse(bytes) } catch { throw CommandError(message: "\(file):\(error.line): \(error.message)") }
        let summary: LabSummary
        do { summary = try LabSummary(json: doc, file: file) } catch { throw CommandError(message: error.message) }
        // A Markdown row must stay one line, whatever the width.
        markdown ? emit(summary.markdown, .exact) : emit(summary.text)
        if !summary.allAgree { throw ExitCode(P2PExit.refused) }
    }
}

/// Inside the guest: snapshot, lspci, then every experiment for real (hidden).
struct LabObserveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "observe", abstract: "Inside a lab guest: run the experiments on the real kernel.", shouldDisplay: false)

    @Option(help: "Write snapshot.json, lspci.txt and observed.json here.")
    var out: String

    @Option(help: "A drive (by label) whose reads QEMU throttles.")
    var slow: [String] = []

    @Flag(help: "Only the steps of the lab story (p2ptop demo lab-story), in its order.")
    var story = false

    func run() throws {
        do { try GuestRun.observe(into: out, slow: slow, story: story) { diagnose("observe: \($0)\n") } }
        catch { throw CommandError(message: error.message) }
    }
}

/// The unbind experiment's child: maps p2pmem, waits, touches it again (hidden).
struct LabHoldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hold", abstract: "Map memory, signal, wait, touch it again.", shouldDisplay: false)

    @Option var memory: String
    @Option var size: Int
    @Option var ready: String
    @Option var go: String

    func run() throws {
        guard let m = LabMemory(memory) else { throw CommandError(message: "--memory \(memory): expected host, p2pmem:BDF or dmabuf:HEAP") }
        throw ExitCode(GuestRun.hold(memory: m, size: size, ready: ready, go: go))
    }
}

func hex2(_ v: Int) -> String { (v < 16 ? "0" : "") + String(v, radix: 16) }
