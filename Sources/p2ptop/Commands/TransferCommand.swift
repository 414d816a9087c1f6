import LinuxFiles
import ArgumentParser
import P2PDMA
import P2PEngine
import RealBackends
import PCISources
import PCITopology
import Reports

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

    @Option(help: ArgumentHelp("Bytes to move (K, M, G suffixes; default 64M).", valueName: "size"), transform: OptionValue.size("--size"))
    var size = ByteCount(64 << 20)

    @Option(help: ArgumentHelp("I/O size (a multiple of 4K; default 1M).", valueName: "size"), transform: OptionValue.pages("--block"))
    var block = ByteCount(1 << 20)

    @Option(name: .customLong("queue-depth"), help: "I/Os in flight at once (each holds its pins).")
    var queueDepth: Int = 4

    @Option(help: ArgumentHelp("Real O_DIRECT: threads (the default), io_uring, or io_uring-fixed (the buffer registered once: long-term pins).", valueName: "kind"),
            transform: OptionValue.queue)
    var queue = ODirect.Queue.threads

    @Option(name: .customLong("gid-index"), help: "Real RDMA on RoCE: the GID table entry to address (default: the first RoCE v2 one; p2ptop rdma lists them).")
    var gidIndex: Int?

    @Option(help: ArgumentHelp("odirect (the default), rdma, dmabuf, zerocopy or cpu.", valueName: "method"), transform: OptionValue.method)
    var via = TransferMethod.odirect

    @Flag(help: "No fabric bandwidth model: show the engine's own cost.")
    var unthrottled = false

    @Flag(name: .customLong("allow-write"), help: "Real transfers: write vm/stat_refresh (root) so the kernel's pin counts are exact; without it they are approximate (per-CPU batches).")
    var allowWrite = false

    func validate() throws {
        let real = [from, to].contains { $0.hasPrefix("file:") || $0.hasPrefix("block:") || $0.hasPrefix("rdma") }
        guard real || size.bytes <= TransferRunner.maxSize else {
            throw ValidationError("--size \(size): a modelled transfer moves at most \(TransferRunner.maxSize >> 30)G (it cycles through a \(TransferRunner.maxWindow >> 20)M window)")
        }
        guard queueDepth >= 1 && queueDepth <= 1024 else { throw ValidationError("--queue-depth must be 1…1024") }
        if let g = gidIndex, !(0..<256).contains(g) { throw ValidationError("--gid-index \(g): expected 0…255") }
    }

    func run() throws {
        let plan: RealTransfer.Plan?
        do { plan = try RealTransfer.plan(from: from, to: to, via: via) } catch { throw CommandError(message: error.message) }
        let report = try plan.map(real) ?? modelled()
        emit(output.json ? TransferRender.json(report).serialized(pretty: true) : TransferRender.text(report, style: output.style))
        if let e = report.outcome.error {
            diagnose("p2ptop: transfer \(from) → \(to) refused: \(e)\n")   // the one line a script's log keeps
            throw ExitCode(P2PExit.refused)
        }
    }

    /// The engine on a demo fabric or recorded machine: the model's clock, unless unthrottled
    /// (then the engine's own cost is the answer, measured on the wall clock).
    func modelled() throws -> TransferReport {
        guard source.source != .live else {
            throw CommandError(message: "on the live machine transfer moves real bytes: --from file:PATH|block:DEV --via odirect, or --from rdma[:DEV[:PORT]] --via rdma, --to host|p2pmem:BDF; for the modelled engine add --fabric NAME")
        }
        let t = try source.load(), analyzer = p2p.analyzer(for: t)
        let engine: Engine
        do { engine = try Engine(topology: t, analyzer: analyzer) } catch { throw CommandError(message: "engine: \(error)") }
        func device(_ s: String) throws -> BDF? { s == "host" ? nil : try t.device(named: s).bdf }
        let request = TransferRequest(from: try device(from), to: try device(to), size: size.bytes, block: block.bytes,
                                      queueDepth: queueDepth, method: via, unthrottled: unthrottled)
        let progress = TransferProgress(total: request.size, enabled: !output.json && isatty(2) != 0)
        let clock: any EngineClock = unthrottled ? WallClock() : ModelClock()
        let outcome = TransferRunner(engine: engine, clock: clock) { done, pins in progress.draw(done, pins) }.run(request)
        progress.clear()
        return TransferReport.modelled(outcome, request, t, analyzer)
    }

    /// A real O_DIRECT read or write, or an RDMA WRITE looped back, on this machine, with the
    /// kernel's own pin counters and the model's prediction for the pair it used.
    func real(_ plan: RealTransfer.Plan) throws -> TransferReport {
        guard source.source == .live else { throw CommandError(message: "\(from) → \(to) uses this machine's own devices: drop --fabric/--dump/--snapshot/--sysfs-root") }
        let t = try source.load()
        let provider = try plan.provider.map { try t.device(named: $0).bdf }
        let options = RealTransfer.Options(size: size.bytes, block: block.bytes, queueDepth: queueDepth, queue: queue, gidIndex: gidIndex, exactPins: allowWrite)
        let (outcome, kernelSaid) = RealTransfer.perform(plan, provider: provider, options)
        var prediction = provider.map { p in client(plan, outcome, t).map { PairPrediction(t, p2p.analyzer(for: t), provider: p, client: $0) }
            ?? PairPrediction(noClient: "the DMA client is not a PCI function (a software device, or a file on no PCI disk)") }
        prediction?.kernelSaid = kernelSaid
        return TransferReport.real(outcome, plan: plan, from: from, to: to, options: options, prediction: prediction,
                                   kernel: RealTransfer.runningKernel(), pinBound: ODirect.approximationBound())
    }

    /// The DMA client of a real transfer: the disk holding the file, or the RDMA device's function.
    func client(_ plan: RealTransfer.Plan, _ outcome: TransferOutcome, _ t: Topology) -> BDF? {
        switch plan {
        case .read(let path, _), .write(_, let path): return BlockDevices.function(holding: path, in: t)
        case .rdma(let device, _, _):
            let name = outcome.rdmaDevice ?? device
            return VerbsRDMASource().inventory().devices.first { $0.name == name }?.pciAddress.flatMap { BDF($0) }
        }
    }
}

/// The modelled transfer's progress bar on stderr (a terminal only), ten frames a second.
final class TransferProgress {
    let total: Int, enabled: Bool
    var lastDraw = 0.0
    init(total: Int, enabled: Bool) { self.total = total; self.enabled = enabled }

    func draw(_ done: Int, _ pins: Int) {
        guard enabled else { return }
        let now = Monotonic.seconds()
        guard now - lastDraw > 0.1 else { return }
        lastDraw = now
        let frac = Double(done) / Double(max(1, total))
        let bar = String(repeating: "█", count: Int(frac * 30)) + String(repeating: "░", count: 30 - Int(frac * 30))
        fputs("\r\(bar) \(Int(frac * 100))%  pins held \(pins)   ", stderr)
    }

    func clear() { if enabled { fputs("\r" + String(repeating: " ", count: 60) + "\r", stderr) } }
}
