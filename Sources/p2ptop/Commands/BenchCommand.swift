import LinuxFiles
import ArgumentParser
import PCISources
import PCITopology

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `p2ptop bench …`: speed measured against the tools users already have, in the same run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks against a baseline measured in the same run.", discussion: "Examples:\n  p2ptop bench list --dump box.lspci\n  p2ptop bench engine",
        subcommands: [BenchList.self, BenchRescan.self, BenchMatrix.self, BenchEngine.self, BenchRender.self, BenchTelemetry.self, BenchODirect.self])
}

/// Whole-process wall time of `p2ptop list --dump X` against `lspci -F X -nn`, alternating.
struct BenchList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "p2ptop list --dump FILE against lspci -F FILE -nn (whole processes, alternating runs).", discussion: "Examples:\n  p2ptop bench list --dump box.lspci --runs 10")

    @Option(name: .customLong("dump"), help: ArgumentHelp("lspci -x dump(s) to read.", valueName: "file"), completion: Completions.anyFile)
    var dumps: [String] = []

    @Option(help: "Runs per command and file.")
    var runs: Int = 30

    @Option(help: "lspci binary to compare with.")
    var lspci: String = "/usr/bin/lspci"

    @Flag(help: "Print JSON (schema p2ptop.bench/1).")
    var json = false

    func validate() throws {
        if dumps.isEmpty { throw ValidationError("give at least one --dump FILE") }
        if runs < 1 || runs > 10000 { throw ValidationError("--runs must be 1…10000") }
    }

    func run() throws {
        guard access(lspci, X_OK) == 0 else {
            throw CommandError(message: "bench: \(lspci) not found: install pciutils (the baseline) or pass --lspci PATH")
        }
        let rows = try dumps.map { try measure($0) }
        if json {
            emit(JSON.object([("schema", .string("p2ptop.bench/1")), ("bench", .string("list")), ("results", .array(rows.map { r in
                .object([("file", .string(r.file)), ("runs", .int(Int64(runs))),
                         ("p2ptop_median_s", .double(Bench.median(r.ours))), ("p2ptop_min_s", .double(r.ours.min()!)),
                         ("lspci_median_s", .double(Bench.median(r.theirs))), ("lspci_min_s", .double(r.theirs.min()!)),
                         ("ratio_median", .double(Bench.median(r.ours) / Bench.median(r.theirs)))])
            }))]).serialized(pretty: true))
        } else {
            emit("file                                       p2ptop ms   lspci ms   ratio (median)\n" + rows.map { r in
                let (om, lm) = (Bench.median(r.ours), Bench.median(r.theirs))
                return String(r.file.split(separator: "/").last ?? "").padding(42) + " " + Bench.ms(om).padding(11) + " " + Bench.ms(lm).padding(10) + " " + format2(om / lm) + "×"
            }.joined(separator: "\n") + "\n")
        }
    }

    /// Whole-process times of both commands on one dump, alternating.
    func measure(_ dump: String) throws -> (file: String, ours: [Double], theirs: [Double]) {
        _ = try DumpReader.load(path: dump)  // fail early, with the usual message
        let me = FileIO.executablePath()
        var ours: [Double] = [], theirs: [Double] = []
        for _ in 0..<runs {
            ours.append(try Bench.wallTime(me, ["list", "--dump", dump, "--color", "never"]))
            theirs.append(try Bench.wallTime(lspci, ["-F", dump, "-nn"]))
        }
        return (dump, ours, theirs)
    }
}

/// In-process rescans of a source (the TUI's refresh path) against `lspci -n` as a process.
struct BenchRescan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rescan", abstract: "In-process topology rescans per second (live by default), beside lspci -n.", discussion: "Examples:\n  p2ptop bench rescan")

    @OptionGroup var source: SourceOptions

    @Option(help: "Rescans to time.")
    var runs: Int = 100

    @Flag(help: "Print JSON (schema p2ptop.bench/1).")
    var json = false

    func run() throws {
        var times: [Double] = []
        var count = 0
        for _ in 0..<max(1, runs) {
            let start = Monotonic.seconds()
            count = try source.source.load().devices.count   // the explorer's refresh: the topology alone
            times.append(Monotonic.seconds() - start)
        }
        let median = Bench.median(times)
        var baseline: Double?
        if source.source == .live, access("/usr/bin/lspci", X_OK) == 0 {
            baseline = Bench.median(try (0..<20).map { _ in try Bench.wallTime("/usr/bin/lspci", ["-n"]) })
        }
        if json {
            emit(JSON.object([("schema", .string("p2ptop.bench/1")), ("bench", .string("rescan")), ("devices", .int(Int64(count))),
                              ("rescan_median_s", .double(median)), ("rescans_per_s", .double(1 / median)),
                              ("lspci_n_process_median_s", baseline.map(JSON.double) ?? .null)]).serialized(pretty: true))
        } else {
            var s = "\(count) devices: in-process rescan \(Bench.ms(median)) ms median (\(Int(1 / median)) per second; 10 Hz needs 100 ms)"
            if let b = baseline { s += "; lspci -n as a process: \(Bench.ms(b)) ms" }
            emit(s)
        }
    }
}

enum Bench {
    static func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }
    static func ms(_ s: Double) -> String { format2(s * 1000) }


    /// Spawns `path args` with stdout/stderr to /dev/null and returns its wall time.
    static func wallTime(_ path: String, _ args: [String]) throws -> Double {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let start = Monotonic.seconds()
        let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard rc == 0 else { throw CommandError(message: "bench: cannot run \(path): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return Monotonic.seconds() - start
    }
}
