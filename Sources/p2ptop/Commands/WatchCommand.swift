import ArgumentParser
import LinuxFiles
import PCISources
import Telemetry
import PCITopology
import Reports

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `p2ptop watch`: a stream of samples (pins, VmPin, p2pmem, RDMA, block, links, AER).
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Sample pin counters, p2pmem, RDMA/block throughput and PCIe health; NDJSON with --json.", discussion: "Examples:\n  p2ptop watch --interval 0.5\n  p2ptop watch --textfile /var/lib/node_exporter/p2ptop.prom\n  p2ptop watch --json --count 10")

    @Option(help: ArgumentHelp("Seconds between samples (minimum 0.05).", valueName: "seconds"))
    var interval: Double = 1

    @Option(help: "Stop after this many samples (default: until interrupted).")
    var count: Int?

    @Option(name: .customLong("sysfs-root"), help: ArgumentHelp("Root to read proc/ and sys/ under.", valueName: "dir"), completion: Completions.directory)
    var root: String = "/"

    @Option(help: ArgumentHelp("Rewrite this file atomically each interval in OpenMetrics 1.0 text.", valueName: "file"), completion: Completions.anyFile)
    var openmetrics: String?

    @Option(help: ArgumentHelp("Rewrite this file atomically each interval in Prometheus text format (node_exporter's textfile collector reads *.prom).", valueName: "file"), completion: Completions.anyFile)
    var textfile: String?

    @Option(help: ArgumentHelp("Also write counter tracks (pins, rates, pools) as a Chrome/Perfetto JSON trace.", valueName: "file"), completion: Completions.anyFile)
    var trace: String?

    @Flag(help: "One JSON object per line (schema p2ptop.sample/2).")
    var json = false

    // The recorded sources every other command takes: named here so that they are refused
    // with the reason, not as unknown options.
    @Option(help: .hidden) var fabric: String?
    @Option(help: .hidden) var dump: String?
    @Option(help: .hidden) var snapshot: String?
    @Option(help: .hidden) var hwloc: String?
    @Option(help: .hidden) var nccl: String?

    func validate() throws {
        if let flag = [("--fabric", fabric), ("--dump", dump), ("--snapshot", snapshot), ("--hwloc", hwloc), ("--nccl", nccl)].first(where: { $0.1 != nil })?.0 {
            throw ValidationError("\(flag): watch samples live counters (procfs, sysfs, RDMA ports), which a recorded topology does not have; watch this machine, or a captured root with --sysfs-root DIR")
        }
        guard interval >= 0.05 && interval <= 3600 else { throw ValidationError("--interval must be 0.05 to 3600 seconds") }
        if let c = count, c < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() throws {
        guard FileIO.isDirectory(root) else { throw CommandError(message: "\(root): not a directory: expected a root containing proc/ and sys/") }
        let t = Telemetry.standard(root: root), aliases = Self.aliases(root)
        signal(SIGINT) { _ in watchStop = 1 }
        signal(SIGTERM) { _ in watchStop = 1 }
        let traceWriter = try trace.map { try TraceWriter(path: $0, metadata: Self.traceMetadata(host: root == "/" ? Self.hostname() : root)) }
        var n = 0, reported = Set<String>()
        let start = Monotonic.seconds()
        while watchStop == 0 {
            let now = Monotonic.seconds()
            t.tick(time: now)
            n += 1
            // The files first: one that cannot be written ends the watch before a sample is
            // printed as if all were well.
            try writeMetricFiles(t, aliases: aliases)
            emitSample(t, seq: n, aliases: aliases)
            if !json { reportStale(t, &reported) }
            fflush(stdout)
            try traceWriter?.append(Self.traceEvents(t, microseconds: (now - start) * 1e6))
            if let c = count, n >= c { break }
            Monotonic.sleep(until: start + Double(n) * interval)   // a signal ends the wait
        }
        try traceWriter?.close()
    }

    /// PCI functions are labelled with their aliases and IDs too, where the topology can be read.
    static func aliases(_ root: String) -> MetricContext {
        guard let topology = try? (root == "/" ? TopologySource.live : TopologySource.sysfsRoot(root)).load() else { return MetricContext() }
        return P2PFactsMetrics.context(topology)
    }

    /// Each sampler that went stale, once, on stderr.
    func reportStale(_ t: Telemetry, _ reported: inout Set<String>) {
        for (sampler, why) in t.stale.sorted(by: { $0.key < $1.key }) where reported.insert(sampler).inserted {
            diagnose("p2ptop: watch: \(sampler): \(why)\n")
        }
    }

    /// The OpenMetrics and Prometheus text files, each rewritten atomically.
    func writeMetricFiles(_ t: Telemetry, aliases: MetricContext) throws {
        for (path, format) in [(openmetrics, OpenMetrics.Format.openMetrics), (textfile, .prometheus)] {
            guard let path else { continue }
            let text = OpenMetrics.render(t.lastReadings, context: aliases, format: format)
            if let e = FileIO.writeAtomically(path, Array(text.utf8)) { throw CommandError(message: "\(path): cannot write: \(e)") }
        }
    }

    func emitSample(_ t: Telemetry, seq: Int, aliases: MetricContext) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let time = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        if json {
            emit(Self.sampleDocument(t, seq: seq, time: time, aliases: aliases).serialized())
        } else {
            if (seq - 1) % 20 == 0 { Self.header.forEach { emit($0) } }
            emit(Self.row(t, seq: seq))
        }
    }

    /// `p2ptop.sample/2`: the vmstat pins (levels and rates), then every metric as the
    /// OpenMetrics output names it, with its labels, value and rate per second (null until two
    /// samples exist), and the samplers that could not be read, with why.
    static func sampleDocument(_ t: Telemetry, seq: Int, time: Double, aliases: MetricContext) -> JSON {
        let pins: JSON
        if let p = t.lastReadings["pins"], p.stale == nil {
            func rate(_ k: String) -> JSON { t.series["pins.\(k)"]?.rate.map(JSON.double) ?? .null }
            pins = .object([("acquired_pages", .double(p.values["vmstat_acquired"] ?? 0)), ("released_pages", .double(p.values["vmstat_released"] ?? 0)),
                            ("outstanding_pages", .double(p.values["outstanding"] ?? 0)),
                            ("acquired_pages_per_s", rate("vmstat_acquired")), ("released_pages_per_s", rate("vmstat_released"))])
        } else { pins = .null }
        let metrics: [JSON] = MetricCatalog.samples(t.lastReadings, context: aliases).map { m in
            let rate = t.series[m.series]?.rate.map { JSON.double($0 * m.family.scale) } ?? .null
            return .object([("name", .string(m.family.kind == .counter ? m.family.name + "_total" : m.family.name)),
                            ("type", .string(m.family.kind.rawValue)), ("unit", m.family.unit.map(JSON.string) ?? .null),
                            ("labels", .object(m.labels.map { ($0.0, .string($0.1)) })), ("value", .double(m.value)),
                            ("per_s", m.family.kind == .counter || m.family.name.hasPrefix("p2ptop_foll_pin") ? rate : .null)])
        }
        return .object([("schema", .string("p2ptop.sample/2")), ("time_unix_seconds", .double(time)), ("seq", .int(Int64(seq))),
                        ("pins", pins), ("metrics", .array(metrics)),
                        ("stale", .object(t.stale.keys.sorted().map { ($0, .string(t.stale[$0]!)) }))])
    }

    /// The text view's column headers (80 columns), repeated every 20 rows as vmstat does.
    static let header: [String] = {
        func group(_ label: String, _ width: Int) -> String {
            let dashes = width - label.count - 2
            return String(repeating: "-", count: dashes / 2) + " \(label) " + String(repeating: "-", count: dashes - dashes / 2)
        }
        return ["      " + [group("pins (pages)", 26), group("memory", 15), group("block B/s", 15), group("RDMA B/s", 15)].joined(separator: " "),
                "    #     held    pin/s  unpin/s   VmPin  p2pmem    read   write      tx      rx"]
    }()

    /// One row: "-" where this machine has nothing to sample (no RDMA port, no p2pmem pool),
    /// "?" where the sampler failed (its reason is on stderr once), never 0 for unknown.
    static func row(_ t: Telemetry, seq: Int) -> String {
        func cell(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        func count(_ v: Double?) -> String {
            guard let v else { return "?" }
            return v >= 10_000_000 ? "\(Int(v / 1e6))M" : v >= 100_000 ? "\(Int(v / 1e3))k" : "\(Int(v.rounded()))"
        }
        func bytes(_ v: Double?) -> String { v.map { ByteSize.text(UInt64(max(0, $0))) } ?? "?" }
        func sum(_ sampler: String, _ prefix: String, rate: Bool) -> String {
            guard let r = t.lastReadings[sampler] else { return "?" }
            if r.stale != nil { return "?" }
            let keys = r.values.keys.filter { $0.hasPrefix(prefix + "{") }
            if keys.isEmpty { return "-" }
            if !rate { return bytes(keys.reduce(0) { $0 + r.values[$1]! }) }
            let rates = keys.compactMap { t.series["\(sampler).\($0)"]?.rate }
            return rates.count == keys.count ? bytes(rates.reduce(0, +)) : "…"
        }
        let p = t.lastReadings["pins"].flatMap { $0.stale == nil ? $0 : nil }
        let vmpin = t.lastReadings["vmpin"].flatMap { $0.stale == nil ? $0.values["total_vmpin_kb"].map { $0 * 1024 } : nil }
        let cells = [
            cell("\(seq)", 5),
            cell(p.map { count($0.values["outstanding"]) } ?? "?", 8),
            cell(p == nil ? "?" : t.series["pins.vmstat_acquired"]?.rate.map { count($0) } ?? "…", 8),
            cell(p == nil ? "?" : t.series["pins.vmstat_released"]?.rate.map { count($0) } ?? "…", 8),
            cell(bytes(vmpin), 7),
            cell(sum("p2pmem", "available", rate: false), 7),
            cell(sum("block", "read_bytes", rate: true), 7),
            cell(sum("block", "write_bytes", rate: true), 7),
            cell(sum("rdma", "xmit_bytes", rate: true), 7),
            cell(sum("rdma", "rcv_bytes", rate: true), 7),
        ]
        return cells.joined(separator: " ")
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
