import Explorer
import P2PDMA
import P2PEngine
import PCISources
import PCITopology
import TerminalUI

/// One entry per parser a user's file reaches: the bytes go in, a value or a typed error
/// comes out — anything else (a trap, a hang, a crash) is a finding. The libFuzzer executable
/// (`p2ptop-fuzz`) and the replay tests call the same functions.
public enum FuzzTargets {
    public static let names = ["dump", "snapshot", "hwloc", "nccl", "theme", "scenario", "config", "gzip", "recording"]

    /// Runs one input; true when the parser accepted it (gave a value), false when it refused
    /// it with a typed error (or, for a scenario, when it does not fit the demo fabric).
    @discardableResult
    public static func run(_ target: String, _ data: [UInt8]) -> Bool {
        switch target {
        case "dump": return dump(data)
        case "snapshot": return snapshot(data)
        case "hwloc": return hwloc(data)
        case "nccl":
            guard let t = try? NCCLSource.parse(data, path: "fuzz") else { return false }
            exercise(t)
            return true
        case "theme": return theme(data)
        case "scenario": return scenario(data)
        case "config": config(data); return true
        case "gzip": return (try? Gzip.decompress(data, limit: 1 << 20)) != nil
        case "recording": return recording(data)
        default: return false
        }
    }

    /// What every command does with a topology: the tree, verdicts for a few pairs, the doctor.
    static func exercise(_ t: Topology) {
        _ = TreeRenderer(topology: t, label: { _ in nil }).render()
        let a = P2PAnalyzer(topology: t)
        let ends = Array(a.endpoints.prefix(4))
        for p in ends { for c in ends where c.bdf != p.bdf { _ = a.verdict(provider: p.bdf, client: c.bdf) } }
        _ = Doctor(analyzer: a).findings()
    }

    static func dump(_ data: [UInt8]) -> Bool {
        guard let entries = try? DumpReader.parse(data, file: "fuzz") else { return false }
        exercise(Topology(devices: entries.map { Device(bdf: $0.bdf, config: ConfigSpace($0.bytes)) }, source: SourceInfo(kind: .dump, path: "fuzz")))
        return true
    }

    static func snapshot(_ data: [UInt8]) -> Bool {
        guard let json = try? JSON.parse(data), let t = try? Snapshot.decode(json, file: "fuzz") else { return false }
        exercise(t)
        _ = Snapshot.encode(t).serialized()
        return true
    }

    static func hwloc(_ data: [UInt8]) -> Bool {
        guard let t = try? HwlocSource.parse(data, path: "fuzz") else { return false }
        exercise(t)
        return true
    }

    static func theme(_ data: [UInt8]) -> Bool {
        (try? Theme.parse(String(decoding: data, as: UTF8.self), name: "fuzz", file: "fuzz")) != nil
    }

    /// Parsed, checked against a demo fabric, and (when it passes) played on a real engine.
    static func scenario(_ data: [UInt8]) -> Bool {
        guard let s = try? Scenario.parse(String(decoding: data, as: UTF8.self), name: "fuzz", file: "fuzz"),
              let t = try? DemoFabrics.load(DemoFabrics.defaultName), (try? s.validate(on: t)) != nil else { return false }
        guard !s.steps.contains(where: { $0.action == "wait" || $0.action == "transfer" }),   // bounded time per input
              let engine = try? Engine(topology: t, analyzer: P2PAnalyzer(topology: t)) else { return true }
        let runner = ScenarioRunner(engine: engine, scenario: s)
        while !runner.finished { _ = runner.step() }
        runner.cleanup()
        return true
    }

    /// A demo recording (`demo --replay FILE`): loaded, then every frame drawn on a canvas at
    /// two sizes, as the replay shows it.
    static func recording(_ data: [UInt8]) -> Bool {
        guard let r = try? DemoRecording.load(data, file: "fuzz"), let theme = try? Theme.load("mono", readFile: { _ in nil }) else { return false }
        let replay = DemoReplay(title: r.title, frames: r.frames, theme: theme)
        for (w, h) in [(80, 24), (7, 3)] {
            for _ in r.frames.prefix(64) {
                var c = Canvas(width: w, height: h)
                replay.render(into: &c)
                for line in c.lines where line.unicodeScalars.contains(where: { TerminalText.isUnsafe($0.value) }) {
                    fatalError("a control character reached the canvas: \(line.debugDescription)")
                }
                replay.handle(.key(.right))
            }
        }
        return true
    }

    /// Raw config space: every decoder and the capability walker.
    static func config(_ data: [UInt8]) {
        let d = Device(bdf: BDF(bus: 1, device: 0, function: 0), config: ConfigSpace(Array(data.prefix(4096))))
        _ = (d.bars, d.bridge, d.express, d.link, d.acs, d.capabilities)
        exercise(Topology(devices: [d], source: SourceInfo(kind: .dump, path: "fuzz")))
    }
}
