import LinuxFiles
import ArgumentParser
import P2PDMA
import P2PEngine
import RealBackends
import PCISources
import PCITopology

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `p2ptop transfer`: move real bytes through the engine on a demo fabric (or any recorded
/// topology), with the kernel's pins, mappings and refusals, and verify them.
struct TransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer", abstract: "Move and verify real bytes A → B through the P2P engine (simulated fabric, kernel-faithful pins and errors).",
        discussion: """
            odirect: A is the NVMe doing the read, B the provider whose p2pmem is mapped. \
            rdma / dmabuf: A is the RDMA NIC, B the device whose memory it registers. \
            zerocopy: A's memory (p2pmem or host) sent by the NIC B with MSG_ZEROCOPY. \
            cpu: MMIO copy through resourceN. "host" names host memory.

            Examples:
              p2ptop transfer --fabric icelake-gpu-switch --from nvme0 --to nvme1 --size 1G
              p2ptop transfer --from file:/var/tmp/big.bin --to host --size 64M
            """)

    @OptionGroup var source: SourceOptions
    @OptionGroup var p2p: P2POptions
    @OptionGroup var output: OutputOptions

    @Option(help: ArgumentHelp("Source: a device or host.", valueName: "device"))
    var from: String

    @Option(help: ArgumentHelp("Destination: a device or host.", valueName: "device"))
    var to: String

    @Option(help: ArgumentHelp("Bytes to move (K, M, G suffixes).", valueName: "size"))
    var size: String = "64M"

    @Option(help: ArgumentHelp("I/O size (a multiple of 4K).", valueName: "size"))
    var block: String = "1M"

    @Option(name: .customLong("queue-depth"), help: "I/Os in flight at once (each holds its pins).")
    var queueDepth: Int = 4

    @Option(help: ArgumentHelp("Real O_DIRECT: threads, io_uring, or io_uring-fixed (the buffer registered once: long-term pins).", valueName: "kind"))
    var queue: String = "threads"

    @Option(name: .customLong("gid-index"), help: "Real RDMA on RoCE: the GID table entry to address (default: the first RoCE v2 one; p2ptop rdma lists them).")
    var gidIndex: Int?

    @Option(help: ArgumentHelp("odirect, rdma, dmabuf, zerocopy or cpu.", valueName: "method"))
    var via: String = "odirect"

    @Flag(help: "No fabric bandwidth model: show the engine's own cost.")
    var unthrottled = false

    @Flag(name: .customLong("allow-write"), help: "Real transfers: write vm/stat_refresh (root) so the kernel's pin counts are exact; without it they are approximate (per-CPU batches).")
    var allowWrite = false

    func validate() throws {
        guard let bytes = ByteSize.parse(size) else { throw ValidationError("--size '\(size)': expected bytes like 256M, 1G or 65536") }
        let real = [from, to].contains { $0.hasPrefix("file:") || $0.hasPrefix("block:") || $0.hasPrefix("rdma") }
        guard real || bytes <= TransferRunner.maxSize else {
            throw ValidationError("--size \(size): a modelled transfer moves at most \(TransferRunner.maxSize >> 30)G (it cycles through a \(TransferRunner.maxWindow >> 20)M window)")
        }
        guard let b = ByteSize.parse(block), b >= 4096, b % 4096 == 0 else { throw ValidationError("--block '\(block)': expected a multiple of 4K") }
        guard TransferMethod(rawValue: via) != nil else { throw ValidationError("--via '\(via)': expected odirect, rdma, dmabuf, zerocopy or cpu") }
        guard queueDepth >= 1 && queueDepth <= 1024 else { throw ValidationError("--queue-depth must be 1…1024") }
        guard ODirect.Queue(rawValue: queue) != nil else { throw ValidationError("--queue '\(queue)': expected threads, io_uring or io_uring-fixed") }
    }

    func run() throws {
        if from.hasPrefix("file:") || from.hasPrefix("block:") || to.hasPrefix("file:") || to.hasPrefix("block:") {
            try runReal()
            return
        }
        if from == "rdma" || from.hasPrefix("rdma:") {
            try runRDMA()
            return
        }
        if source.source == .live {
            throw CommandError(message: "on the live machine transfer moves real bytes: --from file:PATH|block:DEV --via odirect, or --from rdma[:DEV[:PORT]] --via rdma, --to host|p2pmem:BDF; for the modelled engine add --fabric NAME")
        }
        let t = try source.load()
        let analyzer = p2p.analyzer(for: t)
        let engine: Engine
        do { engine = try Engine(topology: t, analyzer: analyzer) } catch { throw CommandError(message: "engine: \(error)") }
        func device(_ s: String) throws -> BDF? { s == "host" ? nil : try t.device(named: s).bdf }
        let request = TransferRequest(from: try device(from), to: try device(to), size: ByteSize.parse(size)!, block: ByteSize.parse(block)!,
                                      queueDepth: queueDepth, method: TransferMethod(rawValue: via)!, unthrottled: unthrottled)
        let showProgress = !output.json && isatty(2) != 0
        var lastDraw = 0.0
        // Modelled, the transfer takes the fabric's time on the model's clock (nothing sleeps);
        // unthrottled, the engine's own cost is the answer, so the wall clock measures it.
        let clock: any EngineClock = unthrottled ? WallClock() : ModelClock()
        let runner = TransferRunner(engine: engine, clock: clock) { done, pins in
            guard showProgress else { return }
            let now = Monotonic.seconds()
            guard now - lastDraw > 0.1 else { return }
            lastDraw = now
            let frac = Double(done) / Double(request.size)
            let bar = String(repeating: "█", count: Int(frac * 30)) + String(repeating: "░", count: 30 - Int(frac * 30))
            fputs("\r\(bar) \(Int(frac * 100))%  pins held \(pins)   ", stderr)
        }
        let r = runner.run(request)
        if showProgress { fputs("\r" + String(repeating: " ", count: 60) + "\r", stderr) }
        let instead = r.ok || r.mapType == .notSupported ? [] : Self.methodsThatWork(request, t, analyzer)
        if output.json {
            emit(TransferJSON.render(r, request, t, analyzer, worksVia: r.ok ? nil : instead).serialized(pretty: true))
        } else {
            var text = TransferJSON.text(r, request, t, analyzer, style: output.style)
            if let first = instead.first {
                text += "\n  instead    --via \(first.rawValue) works for this pair"
                    + (instead.count > 1 ? " (also " + instead.dropFirst().map { "--via \($0.rawValue)" }.joined(separator: ", ") + ")" : "")
            }
            emit(text)
        }
        if !r.ok { throw ExitCode(P2PExit.refused) }
    }
}

extension TransferCommand {
    /// The other methods the engine accepts for the same pair (each tried on a fresh engine
    /// with one small transfer, unthrottled): what to suggest when the asked one is refused.
    static func methodsThatWork(_ r: TransferRequest, _ t: Topology, _ a: P2PAnalyzer) -> [TransferMethod] {
        [TransferMethod.dmabuf, .rdma, .odirect, .zerocopy].filter { m in
            guard m != r.method, let engine = try? Engine(topology: t, analyzer: a) else { return false }
            var trial = r
            trial.method = m; trial.size = 64 << 10; trial.block = 64 << 10; trial.unthrottled = true
            return TransferRunner(engine: engine).run(trial).ok
        }
    }

    /// A real O_DIRECT read (file/block → memory) or write (memory → new file) on this machine,
    /// with the kernel's own pin counters.
    func runReal() throws {
        guard via == "odirect" else { throw CommandError(message: "--from/--to file:/block: move bytes with --via odirect; a real RDMA write is --from rdma[:DEV[:PORT]] --via rdma") }
        guard source.source == .live else { throw CommandError(message: "file: and block: name this machine's files: drop --fabric/--dump/--snapshot") }
        func path(_ s: String) -> String { String(s.drop { $0 != ":" }.dropFirst()) }
        if to.hasPrefix("block:") { throw CommandError(message: "--to \(to): p2ptop never writes to a block device; write to --to file:NEWFILE") }
        let writing = to.hasPrefix("file:")
        if writing && (from.hasPrefix("file:") || from.hasPrefix("block:")) {
            throw CommandError(message: "file to file is a copy, not a DMA into memory: use --from host|p2pmem:DEVICE --to file:NEWFILE, or --from file:PATH --to host|p2pmem:DEVICE")
        }
        if writing && access(path(to), F_OK) == 0 { throw CommandError(message: "--to \(to): the file exists; p2ptop writes only to a new file (nothing is overwritten)") }
        let size = ByteSize.parse(self.size)!, block = ByteSize.parse(self.block)!
        let kind = ODirect.Queue(rawValue: queue)!
        let kernelLog = KernelLog()
        let r = writing ? ODirect.write(from: try memory(from, "--from"), toNewFile: path(to), size: size, block: block, queueDepth: queueDepth, queue: kind,
                                        exactPins: allowWrite)
                        : ODirect.read(path: path(from), into: try memory(to, "--to"), size: size, block: block, queueDepth: queueDepth, queue: kind,
                                       exactPins: allowWrite)
        let bound = ODirect.approximationBound()
        let pins: [(String, JSON)] = [("acquired", .int(Int64(r.pinsAcquired))), ("released", .int(Int64(r.pinsReleased))),
                                      ("outstanding_after", .int(Int64(max(0, r.outstandingAfter)))), ("source", .string("/proc/vmstat")),
                                      ("exact", .bool(r.pinsExact)), ("bound", r.pinsExact ? .null : .int(Int64(bound)))]
        let approx = r.pinsExact ? "" : "≈"
        // The pair: the disk's PCI function is the DMA client, the p2pmem provider the target.
        let file = writing ? path(to) : path(from), memorySide = writing ? from : to
        var pair = try predictedPair(client: { t in BlockDevices.function(holding: file, in: t) }, memory: memorySide)
        pair?.kernelSaid = (kernelLog?.drain() ?? []).filter { $0.contains("peer-to-peer") || $0.contains("ACS redirect") }
        reportReal(method: "odirect", title: "\(from) → \(to) via O_DIRECT (\(queue), qd \(queueDepth))", extra: [("queue", .string(queue)), ("verified_trivially", .bool(r.verified && r.uniformSource != nil))],
                   pair: pair, pins: pins, bytes: r.bytes, verified: r.verified,
                   seconds: r.seconds, gbps: r.gbps, error: r.error,
                   pinLine: "kernel pins (/proc/vmstat): \(approx)\(r.pinsAcquired) acquired, \(approx)\(r.pinsReleased) released, \(approx)\(max(0, r.outstandingAfter)) outstanding system-wide after"
                       + (r.pinsExact ? "" : " (± \(bound) pages of per-CPU batches; --allow-write as root makes them exact)"))
        if r.error != nil { throw ExitCode(P2PExit.refused) }
    }
}

extension TransferCommand {
    /// A real RDMA WRITE looped back on one port, into host memory or a p2pmem mapping.
    func runRDMA() throws {
        guard via == "rdma" else { throw CommandError(message: "--from \(from) is an RDMA port: use --via rdma") }
        guard source.source == .live else { throw CommandError(message: "--from rdma uses this machine's RDMA devices: drop --fabric/--dump/--snapshot/--sysfs-root") }
        let parts = from.split(separator: ":", omittingEmptySubsequences: false).dropFirst().map(String.init)
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }) else { throw CommandError(message: "--from \(from): expected rdma, rdma:DEVICE or rdma:DEVICE:PORT") }
        var port: Int?
        if parts.count == 2 {
            guard let p = Int(parts[1]), p >= 1 else { throw CommandError(message: "--from \(from): the port must be a number from 1") }
            port = p
        }
        let target = try memory(to, "--to")
        if let g = gidIndex, !(0..<256).contains(g) { throw CommandError(message: "--gid-index \(g): expected 0…255") }
        let request = VerbsLoopback.Request(device: parts.first, port: port, gidIndex: gidIndex, target: target, size: ByteSize.parse(size)!, block: ByteSize.parse(block)!)
        let r = VerbsLoopback.run(request, inventory: VerbsRDMASource().inventory())
        let pins: [(String, JSON)] = [("acquired", .int(Int64(r.pinsAcquired))), ("released", .int(Int64(r.pinsReleased))),
                                      ("registered_vmpin_bytes", .int(Int64(r.registeredPinnedKB) * 1024)), ("source", .string("/proc/vmstat, /proc/self/status VmPin")),
                                      ("exact", .bool(false)), ("bound", .int(Int64(ODirect.approximationBound())))]
        let extra: [(String, JSON)] = [("device", r.device.isEmpty ? .null : .string(r.device)), ("port", r.port == 0 ? .null : .int(Int64(r.port))),
                                       ("gid_index", r.device.isEmpty ? .null : .int(Int64(r.gidIndex)))]
        let rdmaDevice = r.device.isEmpty ? parts.first : r.device
        let pair = try predictedPair(client: { t in
            VerbsRDMASource().inventory().devices.first { $0.name == rdmaDevice }?.pciAddress.flatMap { BDF($0) }
        }, memory: to)
        reportReal(method: "rdma", title: r.error == nil ? "\(r.device) port \(r.port) → \(to) via RDMA WRITE (loopback)" : "\(from) → \(to) via RDMA WRITE",
                   extra: extra, pair: pair, pins: pins, bytes: r.bytes, verified: r.verified, seconds: r.seconds, gbps: r.gbps, error: r.error,
                   pinLine: "kernel pins: the MR held \(r.registeredPinnedKB) kB VmPin; /proc/vmstat \(r.pinsAcquired) acquired, \(r.pinsReleased) released")
        if r.error != nil { throw ExitCode(P2PExit.refused) }
    }
}

extension TransferCommand {
    /// The memory side of a real transfer: `host`, `p2pmem:DEVICE` (a real p2pmem/allocate
    /// mapping) or `dmabuf:HEAP` (a DMA-BUF heap buffer).
    func memory(_ s: String, _ flag: String) throws -> RealBuffer.Kind {
        if s == "host" { return .host }
        if s.hasPrefix("p2pmem:") { return .p2pmem(try source.load().device(named: String(s.dropFirst(7))).bdf.description) }
        if s.hasPrefix("dmabuf:"), s.count > 7 { return .dmabuf(heap: String(s.dropFirst(7))) }
        throw CommandError(message: "\(flag) \(s): expected host, p2pmem:DEVICE or dmabuf:HEAP (e.g. dmabuf:system)")
    }

    /// One report for every real transfer: the `p2ptop.transfer/1` document (with `real: true`)
    /// or two lines of text.
    /// What p2ptop predicts for the pair a real transfer uses: the DMA client (the disk's or
    /// the RDMA device's PCI function) and the p2pmem provider. Host memory and software
    /// devices (rxe) have no pair: nil, said so in the text.
    struct Pair {
        var verdict: Verdict?
        var why: String
        var bottleneck: (BDF, LinkState, Double)?
        var topology: Topology
        /// The kernel's own p2pdma lines while the transfer ran (root: /dev/kmsg).
        var kernelSaid: [String] = []
    }

    /// The running kernel's release (`uname -r`), for real transfers.
    static func runningKernel() -> String? {
        var u = utsname()
        guard uname(&u) == 0 else { return nil }
        return withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    func predictedPair(client: (Topology) -> BDF?, memory: String) throws -> Pair? {
        guard memory.hasPrefix("p2pmem:") else { return nil }
        let t = try source.load()
        let provider = try t.device(named: String(memory.dropFirst(7))).bdf
        guard let c = client(t) else { return Pair(verdict: nil, why: "the DMA client is not a PCI function (a software device, or a file on no PCI disk)", topology: t) }
        let v = p2p.analyzer(for: t).verdict(provider: provider, client: c)
        return Pair(verdict: v, why: v.reason, bottleneck: FabricModel.bottleneck(v, in: t), topology: t)
    }

    func reportReal(method: String, title: String, extra: [(String, JSON)], pair: Pair? = nil, pins: [(String, JSON)], bytes: Int, verified: Bool,
                    seconds: Double, gbps: Double, error: EngineError?, pinLine: String) {
        let v = pair?.verdict
        if output.json {
            emit(TransferJSON.document([("ok", .bool(error == nil)), ("real", .bool(true)), ("from", .string(from)), ("to", .string(to)),
                                        ("via", .string(method)), ("kernel", Self.runningKernel().map(JSON.string) ?? .null)] + extra + [
                ("bytes", .int(Int64(bytes))), ("verified", .bool(verified)), ("seconds", .double(seconds)), ("bytes_per_s", .double(gbps * 1e9)),
                ("rate_source", .string("measured")),
                ("map_type", v.map { .string($0.mapType.rawValue) } ?? .null), ("path", .array((v?.hops ?? []).map { .string($0.description) })),
                ("bottleneck", pair?.bottleneck.map { b in
                    .object([("bdf", .string(b.0.description)), ("link", .string(b.1.text)), ("bytes_per_s", .double(b.2))])
                } ?? .null),
                ("prediction", pair.map { .string($0.why) } ?? .null), ("kernel_said", .array((pair?.kernelSaid ?? []).map(JSON.string))),
                ("pins", TransferJSON.pins(pins)),
                ("error", error.map { e in .object([("errno", .string(e.errno.name)), ("message", .string(e.message))]) } ?? .null),
            ]).serialized(pretty: true))
        } else {
            if let e = error {
                emit("\(title): " + output.style.bad(e.errno.description) + ": " + e.message)
            } else {
                let trivially = extra.contains { $0.0 == "verified_trivially" && $0.1 == .bool(true) }
                emit("\(title): \(ByteSize.text(UInt64(bytes))) in \(format2(seconds)) s = \(format2(gbps)) GB/s, verified: \(verified)"
                     + (trivially ? " (trivially: the source is one byte value throughout)" : ""))
                emit("  " + pinLine)
            }
            if let pair {
                let b = pair.bottleneck.map { ", bottleneck \($0.1.text) at \($0.0.compact)" } ?? ""
                emit("  predicted: " + (pair.verdict.map { "\($0.mapType.rawValue)\(b) — \(pair.why)" } ?? pair.why))
                for line in pair.kernelSaid { emit("  kernel:    " + line) }
            }
        }
    }
}

enum TransferJSON {
    /// The one shape of `p2ptop.transfer/1`, modelled or real: every key always present, in
    /// this order, null where the kind of transfer has no such fact.
    static let keys = ["ok", "real", "from", "to", "via", "kernel", "bytes", "verified", "seconds", "verify_seconds",
                       "bytes_per_s", "rate_source", "engine_seconds", "throttled", "map_type", "path", "bottleneck", "window", "ios", "queue",
                       "device", "port", "gid_index", "prediction", "kernel_said", "pins", "leaks", "error", "works_via", "verified_trivially"]
    static let pinKeys = ["acquired", "released", "outstanding_after", "registered_vmpin_bytes", "source", "exact", "bound"]

    static func document(_ pairs: [(String, JSON)]) -> JSON {
        let given = Dictionary(pairs, uniquingKeysWith: { a, _ in a })
        return .object([("schema", .string("p2ptop.transfer/1"))] + keys.map { ($0, given[$0] ?? .null) })
    }

    static func pins(_ pairs: [(String, JSON)]) -> JSON {
        let given = Dictionary(pairs, uniquingKeysWith: { a, _ in a })
        return .object(pinKeys.map { ($0, given[$0] ?? .null) })
    }

    /// `worksVia`: the other methods the engine accepts for this pair, when this one was refused.
    static func render(_ r: TransferResult, _ q: TransferRequest, _ t: Topology, _ a: P2PAnalyzer, worksVia: [TransferMethod]? = nil) -> JSON {
        document([
            ("ok", .bool(r.ok)),
            ("real", .bool(false)),
            ("from", .string(q.from?.description ?? "host")),
            ("to", .string(q.to?.description ?? "host")),
            ("via", .string(q.method.rawValue)),
            ("kernel", .string(a.kernel.description)),
            ("bytes", .int(Int64(r.bytes))),
            ("verified", .bool(r.verified)),
            ("seconds", .double(r.seconds)),
            ("verify_seconds", r.verifySeconds.map(JSON.double) ?? .null),
            ("bytes_per_s", .double(r.gbps * 1e9)),
            ("rate_source", .string(r.rateSource.rawValue)),
            ("engine_seconds", r.engineSeconds.map(JSON.double) ?? .null),
            ("throttled", .bool(!q.unthrottled)),
            ("map_type", r.mapType.map { .string($0.rawValue) } ?? .null),
            ("path", .array(r.path.map { .string($0.description) })),
            ("bottleneck", r.bottleneck.map { b in
                .object([("bdf", .string(b.device.description)), ("link", .string(b.link.text)), ("bytes_per_s", .double(b.bytesPerSecond))])
            } ?? .null),
            ("window", .int(Int64(r.window))),
            ("ios", .int(Int64(r.ios))),
            ("prediction", q.to.flatMap { to in q.from.map { .string(a.verdict(provider: to, client: $0).reason) } } ?? .null),
            ("pins", pins([("acquired", .int(Int64(r.pinsAcquired))), ("released", .int(Int64(r.pinsReleased))),
                           ("outstanding_after", .int(Int64(r.pinsOutstandingAfter))), ("source", .string("engine")), ("exact", .bool(true))])),
            ("leaks", r.leaks.map { l in
                .object([("pins", .int(Int64(l.pins))), ("pages", .int(Int64(l.pages))), ("pool_bytes", .int(Int64(l.poolBytes))),
                         ("mappings", .int(Int64(l.mappings))), ("dmabuf_attachments", .int(Int64(l.dmabufAttachments)))])
            } ?? .null),
            ("error", r.error.map { e in .object([("errno", .string(e.errno.name)), ("message", .string(e.message))]) } ?? .null),
            ("works_via", worksVia.map { .array($0.map { .string($0.rawValue) }) } ?? .null),
            // The engine's source is a pattern no two offsets share: never trivially verified.
            ("verified_trivially", .bool(false)),
        ])
    }

    static func text(_ r: TransferResult, _ q: TransferRequest, _ t: Topology, _ a: P2PAnalyzer, style: Style) -> String {
        func name(_ b: BDF?) -> String { b.map { t.alias($0).map { "\($0) (\(b!.compact))" } ?? $0.description } ?? "host" }
        var lines = ["\(name(q.from)) → \(name(q.to)) via \(q.method.rawValue), kernel \(a.kernel) rules"]
        if let m = r.mapType { lines.append("  map type   \(m.rawValue)" + (r.bottleneck.map { ", bottleneck \($0.link.text) at \($0.device.compact) (\(format1($0.bytesPerSecond / 1e9)) GB/s)" } ?? "")) }
        if r.ok {
            lines.append("  moved      \(ByteSize.text(UInt64(r.bytes))) in \(format2(r.seconds)) s = " + style.good("\(format2(r.gbps)) GB/s")
                         + (r.rateSource == .model ? " (fabric model" + (r.engineSeconds.map { "; the engine took \(format2($0)) s" } ?? "") + ")" : " (engine, unthrottled)"))
            lines.append("  verified   every byte" + (r.verifySeconds.map { " (\(format2($0)) s)" } ?? "") + ", window \(ByteSize.text(UInt64(r.window))), \(r.ios) I/Os")
        } else if let e = r.error {
            lines.append("  refused    " + style.bad(e.errno.description) + ": " + e.message)
        }
        lines.append("  pins       \(r.pinsAcquired) acquired, \(r.pinsReleased) released, \(r.pinsOutstandingAfter) outstanding after")
        if let l = r.leaks, !l.isEmpty { lines.append("  " + style.bad("LEAK: \(l)")) }
        return lines.joined(separator: "\n")
    }
}
