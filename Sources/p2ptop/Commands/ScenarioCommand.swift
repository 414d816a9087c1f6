import ArgumentParser
import LinuxFiles
import P2PDMA
import P2PEngine
import RealBackends
import PCISources
import PCITopology

/// `p2ptop scenario list|run`: scripted engine stories, played headless.
struct ScenarioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario", abstract: "List or run scenario scripts (sequences of engine actions).", discussion: "Examples:\n  p2ptop scenario list\n  p2ptop scenario run seed-story",
        subcommands: [ScenarioList.self, ScenarioRun.self])
}

struct ScenarioList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "The bundled scenarios.", discussion: "Examples:\n  p2ptop scenario list --json")
    @OptionGroup var output: OutputOptions

    func run() throws {
        let items = try BundledScenarios.all.map { item throws -> Scenario in
            do { return try Scenario.parse(item.text, name: item.name, file: item.name) } catch { throw CommandError(message: "\(error)") }
        }
        if output.json {
            emit(JSON.object([("schema", .string("p2ptop.scenarios/1")),
                              ("scenarios", .array(items.map { .object([("name", .string($0.name)), ("description", .string($0.description)),
                                                                         ("fabric", $0.fabric.map(JSON.string) ?? .null),
                                                                         ("steps", .int(Int64($0.steps.count)))]) }))]).serialized(pretty: true))
        } else {
            for s in items {
                emit(output.style.bold(s.name) + "  (\(s.steps.count) steps, fabric \(s.fabric ?? "default"))")
                emit(TextFit.wrapped("  " + s.description, under: 2).joined(separator: "\n"))
            }
        }
    }
}

struct ScenarioRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Play a scenario (bundled name or a script file); NDJSON events with --json.", discussion: "Examples:\n  p2ptop scenario run seed-story\n  p2ptop scenario run my-story.p2p --json")

    @Argument(help: "A bundled scenario name or a script file.")
    var script: String

    /// The machine: any source; none given, the script's @fabric, else the default fabric.
    @OptionGroup var source: SourceOptions

    @Option(help: ArgumentHelp("Kernel rules (default: the script's @kernel, else the fabric's).", valueName: "X.Y"))
    var kernel: String?

    @OptionGroup var output: OutputOptions

    /// The machine a scenario plays on: the source given on the command line, else the
    /// script's `@fabric` (named by file and line when unknown), else the default fabric.
    static func machine(for scenario: Scenario, file: String, source: SourceOptions) throws -> Topology {
        if source.source != .live { return try source.load() }
        if let name = scenario.fabric, let line = scenario.fabricLine {
            do { return try DemoFabrics.load(name) } catch {
                throw CommandError(message: "\(Scenario.ParseError(file: file, line: line, message: "@fabric \(Scenario.shown(name)): no such demo fabric (p2ptop fabrics lists them)"))")
            }
        }
        return try DemoFabrics.load(DemoFabrics.defaultName)
    }

    func run() throws {
        let (scenario, t, k) = try load()
        let engine: Engine
        do { engine = try Engine(topology: t, analyzer: P2PAnalyzer(topology: t, kernel: k, cpu: CPUInfo(vendor: t.host.cpuVendor, family: t.host.cpuFamily))) }
        catch { throw CommandError(message: "engine: \(error)", code: P2PExit.refused) }
        let runner = ScenarioRunner(engine: engine, scenario: scenario, clock: WallClock())
        var failures = 0
        while !runner.finished {
            let e = runner.step()
            if !e.matched { failures += 1 }
            emit(output.json ? ScenarioRender.json(e).serialized() : ScenarioRender.text(e, style: output.style))
        }
        runner.cleanup()
        let l = engine.leaks()
        emit(output.json ? ScenarioRender.end(failures, l, engine.vmstat).serialized() : ScenarioRender.end(failures, l, style: output.style))
        if failures > 0 || !l.isEmpty {
            diagnose("p2ptop: scenario \(scenario.name): " + (failures > 0 ? "\(failures) step(s) not as expected" : "the engine leaked: \(l)") + "\n")
            throw ExitCode(P2PExit.refused)
        }
    }

    /// The script (bundled or a file), parsed; its machine; the kernel it runs under; checked.
    func load() throws -> (Scenario, Topology, KernelVersion) {
        guard let text = BundledScenarios.text(script) ?? readTextFile(script) else {
            throw CommandError(message: "\(script): no such bundled scenario or readable file (bundled: \(BundledScenarios.all.map(\.name).joined(separator: ", ")))")
        }
        let scenario: Scenario
        do { scenario = try Scenario.parse(text, name: script, file: script) } catch { throw CommandError(message: "\(error)") }
        let t = try Self.machine(for: scenario, file: script, source: source)
        guard let k = KernelVersion(parsing: kernel ?? scenario.kernel ?? t.host.kernelRelease ?? KernelVersion.latest.description) else {
            throw CommandError(message: "--kernel \(Scenario.shown(kernel ?? "")): expected X.Y")
        }
        do { try scenario.validate(on: t) } catch { throw CommandError(message: "\(error)") }
        return (scenario, t, k)
    }
}

/// `p2ptop.scenario-event/1` lines and the scenario's text, one step at a time.
enum ScenarioRender {
    static func json(_ e: ScenarioRunner.Event) -> JSON {
        JSON.object([("schema", .string("p2ptop.scenario-event/1")), ("event", .string("step")), ("line", .int(Int64(e.line))), ("action", .string(e.action)),
                     ("outcome", .string(e.outcome)), ("expected", e.expected.map(JSON.string) ?? .null),
                     ("matched", .bool(e.matched)), ("detail", .string(e.detail)),
                     ("pins_outstanding", .int(Int64(e.pinsOutstanding)))])
    }

    static func text(_ e: ScenarioRunner.Event, style: Style) -> String {
        if e.action == "caption" { return "\n" + style.bold(e.detail) }
        let mark = e.matched ? style.good("✓") : style.bad("✗")
        let outcome = e.outcome == "ok" ? "" : " → " + e.outcome + (e.matched ? "" : " (expected \(e.expected ?? "ok"))")
        return "  \(mark) \(e.text)\(outcome)\n" + style.dim("      " + e.detail)
    }

    static func end(_ failures: Int, _ l: Engine.Leaks, _ vmstat: Engine.VMStat) -> JSON {
        JSON.object([("schema", .string("p2ptop.scenario-event/1")), ("event", .string("end")), ("failures", .int(Int64(failures))),
                     ("leaks", .object([("pins", .int(Int64(l.pins))), ("pages", .int(Int64(l.pages))), ("pool_bytes", .int(Int64(l.poolBytes))),
                                        ("mappings", .int(Int64(l.mappings))), ("dmabuf_attachments", .int(Int64(l.dmabufAttachments)))])),
                     ("pins", .object([("acquired", .int(Int64(vmstat.nr_foll_pin_acquired))),
                                       ("released", .int(Int64(vmstat.nr_foll_pin_released)))]))])
    }

    static func end(_ failures: Int, _ l: Engine.Leaks, style: Style) -> String {
        "\n\(failures == 0 ? style.good("all steps as expected") : style.bad("\(failures) step(s) not as expected")); leaks: pins \(l.pins), pages \(l.pages), pool bytes \(l.poolBytes)"
    }
}

