import LinuxFiles
import ArgumentParser
import Explorer
import P2PDMA
import PCISources
import PCITopology
import TerminalUI

/// `p2ptop bench render`: time to render one frame of a large topology in the explorer.
struct BenchRender: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render", abstract: "Frame render time of the explorer on a generated ~1200-function topology.", discussion: "Examples:\n  p2ptop bench render --json")

    @Option(help: "Endpoints to generate (a multiple of 64).")
    var endpoints: Int = 1024

    @Option(help: "Frames per screen.")
    var frames: Int = 50

    @Flag(help: "Print JSON (schema p2ptop.bench/1).")
    var json = false

    func run() throws {
        let t = SyntheticServer.make(endpoints: endpoints)
        let results = try Self.frames(t, frames: frames)
        if json {
            emit(JSON.object([("schema", .string("p2ptop.bench/1")), ("bench", .string("render")), ("functions", .int(Int64(t.devices.count))),
                              ("results", .array(results.map { .object([("name", .string("frame_\($0.0)")), ("value", .double($0.1 * 1000)),
                                                                        ("unit", .string("ms")), ("baseline", .null), ("ratio", .null)]) }))]).serialized(pretty: true))
        } else {
            emit("\(t.devices.count) functions, 200×60 frames: " + results.map { "\($0.0) \(Bench.ms($0.1)) ms" }.joined(separator: ", ") + " (median)")
        }
    }

    /// The median frame time of each screen, scrolling as a user would.
    static func frames(_ t: Topology, frames: Int) throws -> [(String, Double)] {
        let a = P2PAnalyzer(topology: t, kernel: .latest, cpu: CPUInfo(vendor: "intel", family: 6))
        let app = ExplorerApp(topology: t, analyzer: a, names: NameDatabase(useHWDB: false),
                              theme: try Theme.load("default", readFile: { _ in nil }), sourceFlags: "")
        var results: [(String, Double)] = []
        // The tree with a read and write rate on every row, as a busy live machine shows it.
        let rates = Dictionary(uniqueKeysWithValues: t.devices.enumerated().map { ($0.element.bdf, (read: Double($0.offset) * 1.5e6, write: 2.0e8)) })
        for (key, name) in [("1", "topology"), ("1", "topology_live_rates"), ("2", "device"), ("3", "matrix")] {
            app.measuredRates = name == "topology_live_rates" ? { rates } : nil
            app.handle(.key(.character(Character(key))))
            var times: [Double] = []
            for i in 0..<max(1, frames) {
                if i % 2 == 1 { app.handle(.key(.down)) }   // move, like a user scrolling
                var c = Canvas(width: 200, height: 60)
                times.append(Monotonic.time { app.render(into: &c) })
            }
            results.append((name, Bench.median(times)))
        }
        return results
    }
}


