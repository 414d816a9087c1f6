import ArgumentParser
import LinuxFiles
import Explorer
import Lab
import P2PDMA
import P2PEngine
import RealBackends
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

    @Option(help: ArgumentHelp("Write the story as it plays (each step's screen as text, the engine's state as JSON) to FILE; without a terminal, the whole story is played and written at 100×30.", valueName: "file"), completion: Completions.anyFile)
    var record: String?

    @Option(help: ArgumentHelp("Play a recording made with --record, running nothing.", valueName: "file"), completion: Completions.anyFile)
    var replay: String?

    func run() throws {
        if list { return Self.printList() }
        var loaded = try loadTheme(theme)
        if let nc = getenv("NO_COLOR"), nc.pointee != 0 { loaded = loaded.monochrome }
        let termName = String(cString: getenv("TERM") ?? strdup(""))
        let interactive = !(isatty(1) == 0 || isatty(0) == 0 || termName.isEmpty || termName == "dumb")
        if let replay { return try play(recording: replay, theme: loaded, interactive: interactive) }
        if script == LabStoryDemo.name { return try labStory(theme: loaded, interactive: interactive) }
        let (scenario, t, analyzer) = try story()
        // Each restart or step back replays the story on a fresh engine.
        let presenter = try Presenter(makeRunner: { ScenarioRunner(engine: try Engine(topology: t, analyzer: analyzer), scenario: scenario, clock: WallClock()) }, theme: loaded)
        if !interactive { return try recordHeadless(presenter, scenario) }
        let terminal = NcursesTerminal(mouse: false)
        if let record {
            let size = terminal.size
            var recording = DemoRecording(story: scenario.name, title: scenario.title ?? scenario.name, width: size.width, height: size.height)
            recording.add(presenter)
            try? write(recording, to: record)
            presenter.onFrame = { p in
                recording.add(p)
                try? write(recording, to: record)
            }
        }
        try loop(terminal, quit: { presenter.quit }, render: { presenter.render(into: &$0) }, handle: { presenter.handle($0) })
    }

    /// One line per story: the name and its title (else its first clause), cut to the width.
    static func printList() {
        for item in BundledScenarios.all {
            guard let s = try? Scenario.parse(item.text, name: item.name, file: item.name) else { continue }
            let first = s.title ?? s.description.split(separator: ":").first.map(String.init) ?? s.description
            emit(TextFit.cut(item.name.padding(14) + first))
        }
        emit(TextFit.cut(LabStoryDemo.name.padding(14) + LabStory.title + " (boots the kernel lab)"))
    }

    /// The story to tell (bundled or a file), checked on its machine, with the rules it runs under.
    func story() throws -> (Scenario, Topology, P2PAnalyzer) {
        guard let text = BundledScenarios.text(script) ?? readTextFile(script) else { throw CommandError(message: "\(script): no such bundled scenario or readable file") }
        let scenario: Scenario
        do { scenario = try Scenario.parse(text, name: script, file: script) } catch { throw CommandError(message: "\(error)") }
        let t = try ScenarioRun.machine(for: scenario, file: script, source: source)
        do { try scenario.validate(on: t) } catch { throw CommandError(message: "\(error)") }
        let kernel = KernelVersion(parsing: scenario.kernel ?? t.host.kernelRelease ?? "") ?? .latest
        let analyzer = P2PAnalyzer(topology: t, kernel: kernel, cpu: CPUInfo(vendor: t.host.cpuVendor, family: t.host.cpuFamily))
        do { _ = try Engine(topology: t, analyzer: analyzer) } catch { throw CommandError(message: "engine: \(error)", code: P2PExit.refused) }
        return (scenario, t, analyzer)
    }

    /// No terminal: every step played into a recording (`--record FILE`), which is written.
    func recordHeadless(_ presenter: Presenter, _ scenario: Scenario) throws {
        guard let record else { throw CommandError(message: "the demo needs an interactive terminal; headless: p2ptop scenario run \(script) (or p2ptop demo \(script) --record FILE)") }
        var r = DemoRecording(story: scenario.name, title: scenario.title ?? scenario.name, width: 100, height: 30)
        r.add(presenter)
        while !presenter.ended { presenter.handle(.key(.character(" "))); r.add(presenter) }
        try write(r, to: record)
        let failures = presenter.events.filter { !$0.matched }.count
        diagnose("p2ptop demo: \(r.frames.count) frames of \(scenario.name) written to \(record)\(failures > 0 ? "; \(failures) step(s) not as expected" : "")\n")
        if failures > 0 { throw ExitCode(P2PExit.refused) }
    }

    func write(_ r: DemoRecording, to path: String) throws {
        if let e = FileIO.writeAtomically(path, Array((r.document.serialized(pretty: true) + "\n").utf8)) {
            throw CommandError(message: "\(path): \(e)")
        }
    }

    /// `--replay FILE`: the recorded screens, one per key press; without a terminal, printed.
    func play(recording path: String, theme: Theme, interactive: Bool) throws {
        let bytes: [UInt8]
        switch FileIO.read(path, limit: 256 << 20) {
        case .success(let b): bytes = b
        case .failure(let e): throw CommandError(message: "\(path): \(e)")
        }
        let loaded: (title: String, frames: [(step: Int, of: Int, screen: [String])])
        do { loaded = try DemoRecording.load(bytes, file: path) } catch { throw CommandError(message: error.description) }
        guard interactive else {
            for (i, f) in loaded.frames.enumerated() {
                // The screens as recorded, at their own width (not fitted to this terminal).
                print("── frame \(i + 1)/\(loaded.frames.count) (step \(f.step)/\(f.of)) " + String(repeating: "─", count: 20))
                // A recording is someone else's file: its screens are text to show, never bytes
                // for the terminal (the same sanitiser as the canvas the live replay draws on).
                print(f.screen.map { TerminalText.visible($0) }.joined(separator: "\n"))
            }
            return
        }
        let replay = DemoReplay(title: loaded.title, frames: loaded.frames, theme: theme)
        let terminal = NcursesTerminal(mouse: false)
        try loop(terminal, quit: { replay.quit }, render: { replay.render(into: &$0) }, handle: { replay.handle($0) })
    }

    /// `demo lab-story`: one boot of the kernel lab runs the story's steps for real; then the
    /// steps are shown (or, without a terminal, recorded) with the kernel's answers.
    func labStory(theme: Theme, interactive: Bool) throws {
        guard interactive || record != nil else {
            throw CommandError(message: "the demo needs an interactive terminal; headless: p2ptop demo lab-story --record FILE")
        }
        let options = try LabKernelOption.parse([])
        let kernel = try options.resolve()
        let binary = try options.guestBinary()
        let variant = LabVariant(fabric: .labSwitch, cpu: .intel, iommu: false, append: [])
        let told: (kernel: String, told: [LabStory.Told])
        do { told = try LabStory.tell(kernel: kernel, binary: binary, variant: variant) { diagnose("p2ptop demo: \($0)\n") } }
        catch { throw CommandError(message: "lab: \(error)") }
        guard !told.told.isEmpty else { throw CommandError(message: "lab: the guest ran none of the story's steps", code: P2PExit.refused) }
        let disagree = told.told.filter { !$0.experiment.agree }.count
        if !interactive, let record {
            let r = LabStoryDemo.recording(kernel: told.kernel, told: told.told, width: 100, height: 30, theme: theme)
            try write(r, to: record)
            diagnose("p2ptop demo: \(r.frames.count) frames of lab-story written to \(record)\(disagree > 0 ? "; \(disagree) step(s) not as predicted" : "")\n")
            if disagree > 0 { throw ExitCode(P2PExit.refused) }
            return
        }
        let terminal = NcursesTerminal(mouse: false)
        let size = terminal.size
        let r = LabStoryDemo.recording(kernel: told.kernel, told: told.told, width: size.width, height: size.height - 1, theme: theme)
        if let record { try? write(r, to: record) }
        let frames: [(step: Int, of: Int, screen: [String])] = r.frames.map { f in
            (Int(f["step"]?.doubleValue ?? 0), Int(f["of"]?.doubleValue ?? 0), (f["screen"]?.arrayValue ?? []).compactMap(\.stringValue))
        }
        let replay = DemoReplay(title: LabStory.title, frames: frames, theme: theme)
        try loop(terminal, quit: { replay.quit }, render: { replay.render(into: &$0) }, handle: { replay.handle($0) })
    }

    /// Draw, wait for a key (a second at most), hand it over — until quit or a signal; the
    /// terminal is restored either way.
    func loop(_ terminal: NcursesTerminal, quit: () -> Bool, render: (inout Canvas) -> Void, handle: (Event) -> Void) throws {
        while !quit() && terminalSignal == 0 {
            let size = terminal.size
            var canvas = Canvas(width: size.width, height: size.height)
            render(&canvas)
            terminal.draw(canvas)
            if let e = terminal.poll(timeoutMs: 1000) { handle(e) }
        }
        terminal.stop()
        if terminalSignal != 0 { throw ExitCode(128 + terminalSignal) }
    }
}
