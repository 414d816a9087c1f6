import Dispatch
import PCISources
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import P2PDMA
import P2PEngine
import RealBackends
import PCITopology
import Synchronization

/// A transfer running on its own thread with its own engine; the UI reads a snapshot of its
/// progress (bytes, rate history, pins held, per-page pin heat) under a lock.
public final class TransferJob: @unchecked Sendable {
    public struct Snapshot: Sendable {
        public var bytes = 0
        public var pinsHeld = 0
        public var pinsAcquired = 0
        public var rates: [Double] = []          // GB/s, one per sample
        public var heat: [Int] = []              // pins per bucket of the provider's pool
        public var poolSize = 0
        public var poolAvailable = 0
        public var finished = false
        public var result: String = ""
        public var ok = true
    }

    public let request: TransferRequest
    public let label: String
    /// The one-shot command that does the same (for the status line).
    public var command = ""

    public let bottleneck: Double?
    /// The devices the data crosses (provider … client), for live rates on the tree.
    public let path: [BDF]
    private let state = Mutex(Snapshot())
    private let cancelFlag = Atomic<Bool>(false)
    private var realProgress: ODirect.Progress?

    /// A modelled transfer; jobs given the same arbiter share the fabric's links fairly.
    public init(request: TransferRequest, label: String, topology: Topology, analyzer: P2PAnalyzer, arbiter: FabricArbiter? = nil) throws {
        self.request = request
        self.label = label
        let engine = try Engine(topology: topology, analyzer: analyzer)
        var bw: Double? = nil
        var hops: [BDF] = []
        if let from = request.from, let to = request.to {
            let v = analyzer.verdict(provider: to, client: from)
            bw = FabricModel.links(v, in: topology, dataFromProvider: false).map(\.1).min()
            hops = v.hops
        }
        bottleneck = bw
        path = hops
        let provider = request.to.flatMap { engine.providers[$0] }
        let started = DispatchTime.now().uptimeNanoseconds
        let job = self
        // The engine is handed to the transfer thread and used only there from now on.
        let box = EngineBox(engine)
        DispatchQueue.global().async {
            let engine = box.engine
            var lastT = Double(started) / 1e9, lastBytes = 0, lastHeat = 0.0
            let runner = TransferRunner(engine: engine, clock: WallClock(), arbiter: arbiter, progress: { done, pins in
                let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
                var heat: [Int] = []
                if let p = provider, now - lastHeat >= 0.1 {   // the heat map costs a pass over the pool: 10 per second
                    lastHeat = now
                    let buckets = 256, per = max(1, p.pageCount / buckets)
                    heat = (0..<min(buckets, p.pageCount)).map { b in (b * per..<min(p.pageCount, (b + 1) * per)).reduce(0) { $0 + p.pins($1) } }
                }
                job.state.withLock { s in
                    s.bytes = done; s.pinsHeld = pins; s.pinsAcquired = engine.vmstat.nr_foll_pin_acquired
                    if now - lastT >= 0.05 {
                        s.rates.append(Double(done - lastBytes) / (now - lastT) / 1e9)
                        if s.rates.count > 400 { s.rates.removeFirst() }
                        lastT = now; lastBytes = done
                    }
                    if !heat.isEmpty { s.heat = heat }
                    if let p = provider { s.poolSize = p.size; s.poolAvailable = p.available }
                }
            }, shouldCancel: { job.cancelFlag.load(ordering: .relaxed) })
            let r = runner.run(request)
            job.state.withLock { s in
                s.finished = true
                s.ok = r.ok
                s.pinsHeld = engine.vmstat.outstanding
                s.heat = s.heat.map { _ in 0 }
                if let p = provider { s.poolAvailable = p.available }
                s.result = r.ok ? TransferJob.doneText(r, wallSeconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
                                : "\(r.error?.errno.name ?? "error"): \(r.error?.message ?? "")"
                s.bytes = r.ok ? r.bytes : s.bytes
            }
        }
    }

    /// The result on the clock the live rate was on (the wall's): when this machine's copies
    /// could not keep the model's pace, the model's own rate is said beside it, as such.
    static func doneText(_ r: TransferOutcome, wallSeconds: Double) -> String {
        let wall = wallSeconds > 0 ? Double(r.bytes) / wallSeconds / 1e9 : r.gbps
        var text = "done: \(r.bytes >> 20) MiB, verified, \(format2(min(wall, r.gbps))) GB/s"
        if r.rateSource == .model && wall < r.gbps * 0.9 { text += " (the model allows \(format2(r.gbps)) GB/s; this machine's copies were slower)" }
        return text
    }

    /// A real O_DIRECT read of a block device into host memory (live machine). Progress comes
    /// from the reader's counters; pins held are the system-wide `/proc/vmstat` outstanding
    /// count, sampled 20 times a second while it runs.
    public init(realRead plan: RealReadPlan, label: String, bottleneck: Double?) {
        self.request = TransferRequest(from: plan.function, to: nil, size: plan.size, block: plan.block, queueDepth: plan.queueDepth, method: .odirect)
        self.label = label
        self.bottleneck = bottleneck
        self.path = plan.function.map { [$0] } ?? []
        let progress = ODirect.Progress()
        realProgress = progress
        let job = self
        let baseline = ODirect.vmstatPins().map { $0.0 - $0.1 } ?? 0
        DispatchQueue.global().async {
            let r = ODirect.read(path: plan.path, into: .host, size: plan.size, block: plan.block, queueDepth: plan.queueDepth, progress: progress)
            job.state.withLock { s in
                s.finished = true
                s.ok = r.error == nil
                s.pinsHeld = 0
                s.pinsAcquired = r.pinsAcquired
                s.bytes = r.error == nil ? r.bytes : s.bytes
                s.result = r.error == nil ? "done: \(r.bytes >> 20) MiB, verified: \(r.verified), \(format2(r.gbps)) GB/s, \(r.pinsAcquired) real pins (vmstat)"
                                          : "\(r.error!.errno.name): \(r.error!.message)"
            }
        }
        DispatchQueue.global().async {
            var lastT = Double(DispatchTime.now().uptimeNanoseconds) / 1e9, lastBytes = 0
            while !job.snapshot.finished {
                usleep(50_000)
                let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
                let done = progress.bytes.load(ordering: .relaxed)
                let held = ODirect.vmstatPins(refresh: false).map { max(0, $0.0 - $0.1 - baseline) } ?? 0
                job.state.withLock { s in
                    guard !s.finished else { return }
                    s.bytes = done; s.pinsHeld = held
                    s.rates.append(Double(done - lastBytes) / (now - lastT) / 1e9)
                    if s.rates.count > 400 { s.rates.removeFirst() }
                }
                lastT = now; lastBytes = done
            }
        }
    }

    public var snapshot: Snapshot { state.withLock { $0 } }
    public func cancel() {
        cancelFlag.store(true, ordering: .relaxed)
        realProgress?.cancelled.store(true, ordering: .relaxed)
    }
}

/// A real read the explorer offers on the live machine: a block device (prefilled) or any file
/// typed into the dialog, into host memory.
public struct RealReadPlan: Sendable {
    public var path: String
    /// The PCI function doing the DMA, where the path is a block device on one.
    public var function: BDF?
    public var size: Int
    public var block: Int
    public var queueDepth: Int

    /// The one-shot command for this read (`--size` once it is known).
    public var command: String {
        "p2ptop transfer --from \(function == nil ? "file" : "block"):\(path) --to host" + (size > 0 ? " --size \(size >> 20)M" : "")
    }
}

/// Moves an engine to the thread that will own it.
final class EngineBox: @unchecked Sendable {
    let engine: Engine
    init(_ e: Engine) { engine = e }
}
