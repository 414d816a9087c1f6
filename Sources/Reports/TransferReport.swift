import P2PDMA
import RealBackends
import P2PEngine
import PCITopology

/// One answer to "move these bytes": the outcome (modelled or real), what was asked, what the
/// model predicted for the pair and what else would have worked. The CLI's text and
/// `p2ptop.transfer/1` are both drawn from it.
public struct TransferReport: Sendable {
    /// The two ends as the user named them (`nvme0`, `file:/x`, `p2pmem:01:00.0`, `host`).
    public var from: String
    public var to: String
    public var via: String
    public var real: Bool
    /// The kernel the answer is for: the modelled kernel's rules, or the running one's release.
    public var kernel: String?
    /// Modelled only: whether the fabric's bandwidth paced it.
    public var throttled: Bool?
    /// Real O_DIRECT only: threads, io_uring or io_uring-fixed.
    public var queue: String?
    /// A line saying what moved (`nvme0 (00:02.0) → nvme1 (00:03.0) via odirect, kernel 6.12 rules`).
    public var title: String
    public var outcome: TransferOutcome
    /// The model's verdict for the pair the transfer used (nil: host memory, no pair).
    public var prediction: PairPrediction?
    /// Refused: the other methods the engine accepts for this pair.
    public var worksVia: [TransferMethod]?
    /// Per-CPU batches can make a real transfer's pin counts off by this many pages.
    public var pinBound: Int?
    /// Where the pin counts come from (`engine`, `/proc/vmstat`, …).
    public var pinSource: String

    public init(from: String, to: String, via: String, real: Bool, kernel: String?, throttled: Bool?, queue: String?, title: String,
                outcome: TransferOutcome, prediction: PairPrediction?, worksVia: [TransferMethod]?, pinBound: Int?, pinSource: String) {
        self.from = from; self.to = to; self.via = via; self.real = real; self.kernel = kernel; self.throttled = throttled
        self.queue = queue; self.title = title; self.outcome = outcome; self.prediction = prediction; self.worksVia = worksVia
        self.pinBound = pinBound; self.pinSource = pinSource
    }

    /// The modelled transfer `request` on `topology` under `analyzer`'s kernel.
    public static func modelled(_ outcome: TransferOutcome, _ request: TransferRequest, _ t: Topology, _ a: P2PAnalyzer) -> TransferReport {
        func name(_ b: BDF?) -> String { b.map { t.alias($0).map { "\($0) (\(b!.compact))" } ?? $0.description } ?? "host" }
        let prediction = request.to.flatMap { to in request.from.map { PairPrediction(t, a, provider: to, client: $0) } }
        let refusedByPath = outcome.mapType == .notSupported
        return TransferReport(from: request.from?.description ?? "host", to: request.to?.description ?? "host", via: request.method.rawValue,
                              real: false, kernel: a.kernel.description, throttled: !request.unthrottled, queue: nil,
                              title: "\(name(request.from)) → \(name(request.to)) via \(request.method.rawValue), kernel \(a.kernel) rules",
                              outcome: outcome, prediction: prediction,
                              worksVia: outcome.ok ? nil : (refusedByPath ? [] : TransferAdvice.methodsThatWork(request, t, a)),
                              pinBound: nil, pinSource: "engine")
    }
}

/// What the model says of the pair a transfer uses: the verdict and its reason, the
/// bottleneck link, and (for real transfers) the kernel's own p2pdma lines beside it.
public struct PairPrediction: Sendable {
    public var verdict: Verdict?
    public var why: String
    public var bottleneck: (device: BDF, link: LinkState, bytesPerSecond: Double)?
    /// The kernel's p2pdma lines while the transfer ran (root: /dev/kmsg).
    public var kernelSaid: [String] = []

    public init(_ t: Topology, _ a: P2PAnalyzer, provider: BDF, client: BDF) {
        let v = a.verdict(provider: provider, client: client)
        verdict = v
        why = v.reason
        bottleneck = FabricModel.bottleneck(v, in: t).map { ($0.0, $0.1, $0.2) }
    }

    /// A transfer whose DMA client is no PCI function (a software RDMA device, a file on no PCI disk).
    public init(noClient why: String) { verdict = nil; self.why = why }
}

/// What to suggest when a method is refused.
public enum TransferAdvice {
    /// The other methods the engine accepts for the same pair, each tried on a fresh engine
    /// with one small transfer on the model's clock.
    public static func methodsThatWork(_ r: TransferRequest, _ t: Topology, _ a: P2PAnalyzer) -> [TransferMethod] {
        [TransferMethod.dmabuf, .rdma, .odirect, .zerocopy].filter { m in
            guard m != r.method, let engine = try? Engine(topology: t, analyzer: a) else { return false }
            var trial = r
            trial.method = m; trial.size = 64 << 10; trial.block = 64 << 10
            return TransferRunner(engine: engine).run(trial).ok
        }
    }
}

extension TransferReport {
    /// A real transfer on this machine: `prediction` is the model's verdict for its DMA client
    /// and p2pmem provider, `pinBound` how far unrefreshed kernel pin counts can be off.
    public static func real(_ outcome: TransferOutcome, plan: RealTransfer.Plan, from: String, to: String, options o: RealTransfer.Options,
                            prediction: PairPrediction?, kernel: String?, pinBound: Int) -> TransferReport {
        let rdma = plan.method == .rdma
        let title: String
        if rdma {
            title = outcome.ok ? "\(outcome.rdmaDevice ?? "?") port \(outcome.rdmaPort ?? 0) → \(to) via RDMA WRITE (loopback)" : "\(from) → \(to) via RDMA WRITE"
        } else {
            title = "\(from) → \(to) via O_DIRECT (\(o.queue.rawValue), qd \(o.queueDepth))"
        }
        return TransferReport(from: from, to: to, via: plan.method.rawValue, real: true, kernel: kernel, throttled: nil,
                              queue: rdma ? nil : o.queue.rawValue, title: title, outcome: outcome, prediction: prediction, worksVia: nil,
                              pinBound: pinBound, pinSource: rdma ? "/proc/vmstat, /proc/self/status VmPin" : "/proc/vmstat")
    }
}
