import ArgumentParser
import LinuxFiles
import PCISources
import Telemetry

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

    @Option(help: ArgumentHelp("Rewrite this file atomically each interval in OpenMetrics text (node_exporter textfile collector).", valueName: "file"))
    var openmetrics: String?

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
        signal(SIGINT) { _ in watchStop = 1 }
        signal(SIGTERM) { _ in watchStop = 1 }
        var traceFile: UnsafeMutablePointer<FILE>?
        if let path = trace {
            guard let f = fopen(path, "w") else { throw CommandError(message: "\(path): cannot write: \(String(cString: strerror(errno)))") }
            traceFile = f
            fputs("[", f)
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
            if let path = openmetrics {
                if let e = FileIO.writeAtomically(path, Array(OpenMetrics.render(t.lastReadings).utf8)) { throw CommandError(message: "\(path): cannot write: \(e)") }
            }
            if let f = traceFile {
                for (i, event) in Self.traceEvents(t, microseconds: (now - start) * 1e6).enumerated() {
                    fputs((n == 1 && i == 0 ? "\n" : ",\n") + event.serialized(), f)
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
