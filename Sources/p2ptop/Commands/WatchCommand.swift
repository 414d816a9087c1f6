import ArgumentParser
import LinuxFiles
import PCISources
import Telemetry
import PCITopology

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `p2ptop watch`: a stream of samples (pins, VmPin, p2pmem, RDMA, block, links, AER).
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Sample pin counters, p2pmem, RDMA/block throughput and PCIe health; NDJSON with --json.")

    @Option(help: ArgumentHelp("Seconds between samples (minimum 0.05).", valueName: "seconds"))
    var interval: Double = 1

    @Option(help: "Stop after this many samples (default: until interrupted).")
    var count: Int?

    @Option(name: .customLong("sysfs-root"), help: ArgumentHelp("Root to read proc/ and sys/ under (default /).", valueName: "dir"))
    var root: String = "/"

    @Option(help: ArgumentHelp("Rewrite this file atomically each interval in OpenMetrics 1.0 text.", valueName: "file"))
    var openmetrics: String?

    @Option(help: ArgumentHelp("Rewrite this file atomically each interval in Prometheus text format (node_exporter's textfile collector reads *.prom).", valueName: "file"))
    var textfile: String?

    @Option(help: ArgumentHelp("Also write counter tracks (pins, rates, pools) as a Chrome/Perfetto JSON trace.", valueName: "file"))
    var trace: String?

    @Flag(help: "One JSON object per line (schema p2ptop.sample/1).")
    var json = false

    // The recorded sources every other command takes: named here so that they are refused
    // with the reason, not as unknown options.
    @Option(help: .hidden) var fabric: String?
    @Option(help: .hidden) var dump: String?
    @Option(help: .hidden) var snapshot: String?
    @Option(help: .hidden) var hwloc: String?

    func validate() throws {
        if let flag = [("--fabric", fabric), ("--dump", dump), ("--snapshot", snapshot), ("--hwloc", hwloc)].first(where: { $0.1 != nil })?.0 {
            throw ValidationError("\(flag): watch samples live counters (procfs, sysfs, RDMA ports), which a recorded topology does not have; watch this machine, or a captured root with --sysfs-root DIR")
        }
        guard interval >= 0.05 && interval <= 3600 else { throw ValidationError("--interval must be 0.05 to 3600 seconds") }
        if let c = count, c < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() throws {
        var st = stat()
        guard stat(root, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw CommandError(message: "\(root): not a directory: expected a root containing proc/ and sys/")
        }
        let t = Telemetry.standard(root: root)
        // PCI functions are labelled with their aliases too, where the topology can be read.
        let topology = try? (root == "/" ? TopologySource.live : TopologySource.sysfsRoot(root)).load()
        let aliases = Dictionary(uniqueKeysWithValues: (topology?.aliases ?? [:]).map { ($0.key.description, $0.value) })
        signal(SIGINT) { _ in watchStop = 1 }
        signal(SIGTERM) { _ in watchStop = 1 }
        var traceFile: UnsafeMutablePointer<FILE>?
        if let path = trace {
            guard let f = fopen(path, "w") else { throw CommandError(message: "\(path): cannot write: \(String(cString: strerror(errno)))") }
            traceFile = f
            fputs("[\n" + Self.traceMetadata(host: root == "/" ? Self.hostname() : root).map { $0.serialized() }.joined(separator: ",\n"), f)
        }
        defer { if let f = traceFile { fputs("\n]\n", f); fclose(f) } }
        var n = 0
        let start = Bench.now()
        while watchStop == 0 {
            let now = Bench.now()
            t.tick(time: now)
            n += 1
            emitSample(t, seq: n)
            fflush(stdout)
            for (path, format) in [(openmetrics, OpenMetrics.Format.openMetrics), (textfile, .prometheus)] {
                guard let path else { continue }
                let text = OpenMetrics.render(t.lastReadings, aliases: aliases, format: format)
                if let e = FileIO.writeAtomically(path, Array(text.utf8)) { throw CommandError(message: "\(path): cannot write: \(e)") }
            }
            if let f = traceFile {
                for event in Self.traceEvents(t, microseconds: (now - start) * 1e6) {
                    fputs(",\n" + event.serialized(), f)
                }
                fflush(f)
            }
            if let c = count, n >= c { break }
            let next = start + Double(n) * interval
            let wait = next - Bench.now()
            if wait > 0 { usleep(UInt32(wait * 1e6)) }
        }
    }

    func emitSample(_ t: Telemetry, seq: Int) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let time = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        func group(_ name: String) -> JSON {
            guard let r = t.lastReadings[name], r.stale == nil else { return .null }
            var pairs: [(String, JSON)] = r.values.keys.sorted().map { ($0, .double(r.values[$0]!)) }
            for k in r.values.keys.sorted() {
                if let rate = t.series["\(name).\(k)"]?.rate, !k.hasPrefix("size") && !k.hasPrefix("available") && !k.hasPrefix("link") {
                    pairs.append((k + "_per_s", .double(rate)))
                }
            }
            return .object(pairs)
        }
        if json {
            let pins = t.lastReadings["pins"]
            var pinPairs: [(String, JSON)] = []
            if let p = pins, p.stale == nil {
                pinPairs = [("vmstat_acquired", .double(p.values["vmstat_acquired"]!)), ("vmstat_released", .double(p.values["vmstat_released"]!)),
                            ("outstanding", .double(p.values["outstanding"]!)),
                            ("acquired_per_s", t.series["pins.vmstat_acquired"]?.rate.map(JSON.double) ?? .null),
                            ("released_per_s", t.series["pins.vmstat_released"]?.rate.map(JSON.double) ?? .null)]
            }
            emit(JSON.object([
                ("schema", .string("p2ptop.sample/1")), ("time", .double(time)), ("seq", .int(Int64(seq))),
                ("pins", pinPairs.isEmpty ? .null : .object(pinPairs)),
                ("vmpin", group("vmpin")), ("p2pmem", group("p2pmem")), ("rdma", group("rdma")), ("block", group("block")), ("pci", group("pci")),
                ("stale", .object(t.stale.keys.sorted().map { ($0, .string(t.stale[$0]!)) })),
            ]).serialized())
        } else {
            let p = t.lastReadings["pins"]
            var line = "#\(seq) "
            if let p, p.stale == nil {
                line += "pins outstanding \(Int(p.values["outstanding"]!))"
                if let a = t.series["pins.vmstat_acquired"]?.rate, let r = t.series["pins.vmstat_released"]?.rate {
                    line += " (+\(Int(a))/s −\(Int(r))/s)"
                }
            } else { line += "pins: \(t.stale["pins"] ?? "unknown")" }
            if let v = t.lastReadings["vmpin"]?.values["total_vmpin_kb"] { line += "  VmPin \(Int(v)) kB" }
            let pools = (t.lastReadings["p2pmem"]?.values ?? [:]).filter { $0.key.hasPrefix("available") }
            if !pools.isEmpty { line += "  p2pmem available " + pools.sorted { $0.key < $1.key }.map { "\($0.key.dropFirst(10).dropLast()) \(humanSize(UInt64($0.value)))" }.joined(separator: ", ") }
            emit(line)
        }
    }

    /// Trace metadata: the process and thread names Perfetto and chrome://tracing show for the
    /// counter tracks (all of them live under one process, one per sampler name).
    static func hostname() -> String? {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return nil }
        return String(cString: buf)
    }

    static func traceMetadata(host: String?) -> [JSON] {
        let process = "p2ptop watch" + (host.map { " (\($0))" } ?? "")
        return [
            .object([("name", .string("process_name")), ("ph", .string("M")), ("pid", .int(1)), ("tid", .int(1)),
                     ("args", .object([("name", .string(process))]))]),
            .object([("name", .string("thread_name")), ("ph", .string("M")), ("pid", .int(1)), ("tid", .int(1)),
                     ("args", .object([("name", .string("samplers"))]))]),
            .object([("name", .string("process_labels")), ("ph", .string("M")), ("pid", .int(1)), ("tid", .int(1)),
                     ("args", .object([("labels", .string("pins, VmPin, p2pmem, RDMA, block, PCIe"))]))]),
        ]
    }

    /// Chrome trace counter events ("ph": "C"), one per sampler: its rates where it has them
    /// (bytes/s, pins/s), its levels otherwise (pins outstanding, pool bytes available). The
    /// file is a JSON array whose closing bracket Perfetto and chrome://tracing do not need, so
    /// an interrupted watch still leaves a readable trace.
    static func traceEvents(_ t: Telemetry, microseconds: Double) -> [JSON] {
        var events: [JSON] = []
        for name in t.lastReadings.keys.sorted() {
            guard let r = t.lastReadings[name], r.stale == nil else { continue }
            var levels: [(String, JSON)] = [], rates: [(String, JSON)] = []
            for k in r.values.keys.sorted() {
                if let rate = t.series["\(name).\(k)"]?.rate, !k.hasPrefix("size") && !k.hasPrefix("available") && !k.hasPrefix("link") && k != "outstanding" {
                    rates.append((k, .double(rate)))
                } else if k == "outstanding" || k.hasPrefix("available") || k.hasPrefix("total") || k.hasPrefix("link") {
                    levels.append((k, .double(r.values[k]!)))
                }
            }
            for (suffix, args) in [("", levels), (" per second", rates)] where !args.isEmpty {
                events.append(.object([("name", .string(name + suffix)), ("ph", .string("C")), ("ts", .double(microseconds)),
                                       ("pid", .int(1)), ("tid", .int(1)), ("args", .object(args))]))
            }
        }
        return events
    }
}

nonisolated(unsafe) var watchStop: Int32 = 0
