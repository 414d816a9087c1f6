import ArgumentParser
import LinuxFiles
import Explorer
import Lab
import P2PDMA
import PCISources
import PCITopology
import Telemetry
import TerminalUI

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `p2ptop` (no subcommand) / `p2ptop explore`: the terminal UI.
struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore", abstract: "The terminal UI (the default when no subcommand is given).", discussion: "Examples:\n  p2ptop explore --fabric icelake-gpu-switch\n  p2ptop explore --theme mono")

    @OptionGroup var source: SourceOptions
    @OptionGroup var p2p: P2POptions

    @Option(help: ArgumentHelp("Theme: default, light, high-contrast, mono, or a .toml file.", valueName: "name|file"))
    var theme: String = "default"

    @Flag(name: .customLong("no-unicode"), help: "ASCII only (no box drawing or block characters).")
    var noUnicode = false

    @Flag(name: .customLong("no-mouse"), help: "Do not capture the mouse.")
    var noMouse = false

    @Flag(help: "Hide every action that changes anything (transfers, maps, pins, unbinds, ACS flips): look only.")
    var readonly = false

    @Flag(name: .customLong("allow-write"), help: "On the live machine, as root: m, P, U and u act on the running kernel too (map p2pmem, hold real pins with an O_DIRECT read, release them, unbind a provider's driver). Implied in the kernel lab's guest.")
    var allowWrite = false

    /// The running kernel's side of the actions: the lab guest (disposable: always), else only
    /// with --allow-write as root, never with --readonly.
    func kernelActions(_ t: Topology) -> KernelActions? {
        let lab = getenv("P2PTOP_LAB_GUEST") != nil
        guard !readonly, geteuid() == 0, lab || allowWrite else { return nil }
        let slow = Set((getenv("P2PTOP_LAB_SLOW").map { String(cString: $0) } ?? "").split(separator: ",").map(String.init))
        var drives: [KernelActions.Drive]
        if lab {
            drives = GuestRun.inventory(t).drives.map { KernelActions.Drive(label: $0.label, function: $0.bdf, path: $0.block, slow: slow.contains($0.label)) }
        } else {
            drives = BlockDevices.list(t, root: "/").map { KernelActions.Drive(label: $0.name, function: $0.function, path: $0.devicePath, slow: false) }
        }
        return KernelActions(drives: drives, lab: lab)
    }

    func run() throws {
        // Load everything that can fail before touching the terminal.
        var loaded = try loadTheme(theme)
        let noColor = getenv("NO_COLOR").map { $0.pointee != 0 } ?? false
        if noColor || theme == "mono" { loaded = loaded.monochrome }
        let term = String(cString: getenv("TERM") ?? strdup(""))
        if isatty(1) == 0 || isatty(0) == 0 || term.isEmpty || term == "dumb" {
            throw CommandError(message: "the terminal UI needs an interactive terminal (TERM is '\(term)'); for text output use: p2ptop tree\(source.source.flags)")
        }
        let app = try makeApp(theme: loaded)
        let terminal = NcursesTerminal(mouse: !noMouse)
        Self.loop(app, terminal, noColor: noColor, asciiOnly: noUnicode)
        terminal.stop()
        if terminalSignal != 0 { throw ExitCode(128 + terminalSignal) }
    }

    /// The explorer on the source, with what that source can tell beyond its topology: host
    /// facts, RDMA ports, block devices, GPU counters, and the kernel actions (live).
    func makeApp(theme: Theme) throws -> ExplorerApp {
        let t = try source.load()
        let app = ExplorerApp(topology: t, analyzer: p2p.analyzer(for: t), names: NameDatabase(), theme: theme, sourceFlags: source.source.flags)
        app.hostFacts = t.host.facts
        app.readonly = readonly
        switch source.source {
        case .live:
            app.rdma = source.source.rdmaInventory(t)
            app.blockDevices = BlockDevices.list(t, root: "/")
            // GPU PCIe throughput and BAR1 use where NVIDIA's driver is (loaded, never linked).
            if t.devices.contains(where: { t.kind($0.bdf) == .gpu }) { app.gpuCounters = NVML() }
            app.kernel = kernelActions(t)
        case .sysfsRoot, .snapshot: app.rdma = source.source.rdmaInventory(t)
        default: break
        }
        return app
    }

    /// Draw, wait for a key or the refresh, handle it — until quit or a signal.
    static func loop(_ app: ExplorerApp, _ terminal: NcursesTerminal, noColor: Bool, asciiOnly: Bool) {
        var instantTimeouts = 0
        while !app.quit && terminalSignal == 0 {
            let size = terminal.size
            var canvas = Canvas(width: size.width, height: size.height)
            canvas.monochrome = noColor
            canvas.asciiOnly = asciiOnly
            app.render(into: &canvas)
            terminal.draw(canvas)
            let start = Monotonic.seconds()
            if let e = terminal.poll(timeoutMs: app.refreshMilliseconds) {
                app.handle(e)
                instantTimeouts = 0
            } else if Monotonic.seconds() - start < Double(app.refreshMilliseconds) / 1000 / 20 {
                // A timeout that returns at once, again and again: the terminal is gone (hangup).
                instantTimeouts += 1
                if instantTimeouts > 50 { terminalSignal = SIGHUP }
            } else {
                instantTimeouts = 0
            }
        }
    }
}
