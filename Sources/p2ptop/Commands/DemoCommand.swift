import ArgumentParser
import LinuxFiles
import Explorer
import P2PDMA
import P2PEngine
import PCISources
import PCITopology
import TerminalUI

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `p2ptop demo [SCRIPT]`: presenter mode — a scenario step by step in the TUI.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Presenter mode: play a scenario step by step (space = next), high-contrast by default.", discussion: "Examples:\n  p2ptop demo --list\n  p2ptop demo\n  p2ptop demo my-talk.p2p --theme mono")

    @Argument(help: "A bundled scenario name or a script file.")
    var script: String = "seed-story"

    @Option(help: ArgumentHelp("Theme.", valueName: "name|file"))
    var theme: String = "high-contrast"

    /// The machine: any source; none given, the script's @fabric, else the default fabric.
    @OptionGroup var source: SourceOptions

    @Flag(help: "Name the bundled stories, one line each, and exit.")
    var list = false

    func run() throws {
        if list {
            for item in BundledScenarios.all {
                guard let s = try? Scenario.parse(item.text, name: item.name, file: item.name) else { continue }
                // One line: the name and the story's first sentence, cut to the width.
                let first = s.description.split(separator: ":").first.map(String.init) ?? s.description
                let line = item.name.padding(14) + first
                emit(line.count > TextFit.width ? String(line.prefix(TextFit.width - 1)) + "…" : line)
            }
            return
        }
        var loaded: Theme
        loaded = try loadTheme(theme)
        if let nc = getenv("NO_COLOR"), nc.pointee != 0 { loaded = loaded.monochrome }
        let text = BundledScenarios.text(script) ?? readTextFile(script)
        guard let text else { throw CommandError(message: "\(script): no such bundled scenario or readable file") }
        let scenario: Scenario
        do { scenario = try Scenario.parse(text, name: script, file: script) } catch { throw CommandError(message: "\(error)") }
        let t = try ScenarioRun.machine(for: scenario, file: script, source: source)
        do { try scenario.validate(on: t) } catch { throw CommandError(message: "\(error)") }
        let kernel = KernelVersion(parsing: scenario.kernel ?? t.host.kernelRelease ?? "") ?? .latest
        let engine: Engine
        do { engine = try Engine(topology: t, analyzer: P2PAnalyzer(topology: t, kernel: kernel, cpu: CPUInfo(vendor: t.host.cpuVendor, family: t.host.cpuFamily))) }
        catch { throw CommandError(message: "engine: \(error)", code: P2PExit.refused) }
        let termName = String(cString: getenv("TERM") ?? strdup(""))
        if isatty(1) == 0 || isatty(0) == 0 || termName.isEmpty || termName == "dumb" {
            throw CommandError(message: "the demo needs an interactive terminal; headless: p2ptop scenario run \(script)")
        }
        let presenter = Presenter(runner: ScenarioRunner(engine: engine, scenario: scenario), theme: loaded)
        let terminal = NcursesTerminal(mouse: false)
        while !presenter.quit && terminalSignal == 0 {
            let size = terminal.size
            var canvas = Canvas(width: size.width, height: size.height)
            presenter.render(into: &canvas)
            terminal.draw(canvas)
            if let e = terminal.poll(timeoutMs: 1000) { presenter.handle(e) }
        }
        terminal.stop()
        if terminalSignal != 0 { throw ExitCode(128 + terminalSignal) }
    }
}
