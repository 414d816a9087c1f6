import Dispatch
import P2PDMA
import P2PEngine
import PCISources
import PCITopology
import Telemetry
import TerminalUI

/// What every screen and dialog shares: the machine shown and its verdicts, the tree and its
/// selection, the jobs and engine actions started here, and the counters read from the
/// machine. The app owns one; screens read it and change it through its methods.
public final class ExplorerModel {
    public internal(set) var topology: Topology
    public internal(set) var analyzer: P2PAnalyzer
    let names: NameDatabase
    public var theme: Theme
    /// The flags that name the source, for the status line's `p2ptop …` equivalent.
    let sourceFlags: String
    var tree = TreeModel()
    private(set) var endpoints: [Device]
    private var verdicts: [BDF: [BDF: Verdict]] = [:]
    /// Transfers started from the keyboard, newest last.
    public internal(set) var jobs: [TransferJob] = []
    /// The modelled fabric's links, shared max-min fairly by the transfers running together.
    public let arbiter = FabricArbiter()
    /// The live machine's block devices by PCI function (set by the caller; empty elsewhere).
    public var blockDevices: [BlockDevice] = []
    /// RDMA devices of the machine shown (live: libibverbs; a captured root: its sysfs); nil for
    /// recorded sources and demo fabrics, where RDMA is modelled by the engine.
    public var rdma: RDMAInventory?
    /// What the kernel allows on the machine shown (the doctor's host facts), where known.
    public var hostFacts: HostFacts?
    /// This machine's counters: /proc/vmstat pins, VmPin, block and RDMA bytes.
    let telemetry: Telemetry
    private var lastTelemetry = -1.0
    /// Where per-device rates come from: the live counters by default; a bench (or a recorded
    /// machine's replay) may supply its own.
    public var measuredRates: (() -> [BDF: (read: Double, write: Double)])?
    /// GPU PCIe throughput and BAR1 use from NVML where the library is present (live only).
    public var gpuCounters: GPUCounterSource?
    /// `--readonly`: every action that changes anything (the engine's or the machine's) is off.
    public var readonly = false
    /// The running kernel's side of the actions, where enabled; nil: actions act on the model only.
    public var kernel: KernelActions?
    /// The engine the keyboard's map/pin/unbind/export actions use (modelled machines).
    var actionSession: ActionSession?
    /// An unbind the engine is holding until the pins on the provider go.
    var pendingUnbind: BDF?
    /// The tree search `n` repeats.
    var lastSearch = ""
    /// One line of feedback in the status bar.
    var message: String?
    /// The matrix's rows and columns: the endpoints that can do P2P DMA, or (`f`) every one.
    var matrixShowsAll = false { didSet { endpoints = matrixShowsAll ? analyzer.endpoints : analyzer.p2pEndpoints } }

    init(topology: Topology, analyzer: P2PAnalyzer, names: NameDatabase, theme: Theme, sourceFlags: String, telemetryRoot: String = "/") {
        self.topology = topology; self.analyzer = analyzer; self.names = names; self.theme = theme
        self.sourceFlags = sourceFlags
        endpoints = matrixShowsAll ? analyzer.endpoints : analyzer.p2pEndpoints
        telemetry = Telemetry(samplers: Telemetry.standard(root: telemetryRoot).samplers.map {
            $0 is ProcessPinSampler ? ProcessPinSampler(root: telemetryRoot, top: 40) : $0
        })
        tree.rebuild(topology, names: names)
    }

    var selectedDevice: Device? { tree.selected.flatMap { topology.device($0) } }

    func name(_ b: BDF?) -> String { b.map { topology.alias($0) ?? $0.short } ?? "host" }

    func verdict(_ p: BDF, _ q: BDF) -> Verdict {
        if let v = verdicts[p]?[q] { return v }
        let v = analyzer.verdict(provider: p, client: q)
        verdicts[p, default: [:]][q] = v
        return v
    }

    /// A new ACSCtl on a port of the model: new topology, new verdicts everywhere.
    func applyACS(_ bdf: BDF, _ bits: ACSBits) {
        guard let d = topology.device(bdf), let edited = d.withACSControl(bits) else { return }
        topology = topology.replacing(edited)
        analyzer = analyzer.with(topology: topology)
        verdicts = [:]
        endpoints = matrixShowsAll ? analyzer.endpoints : analyzer.p2pEndpoints
        let offset = d.acs!.offset + 6
        message = "setpci -s \(bdf) \(String(offset, radix: 16)).w=\(hex(bits.rawValue, width: 4))   (ACSCtl on the model; the matrix is updated)"
        tree.rebuild(topology, names: names)
    }

    /// Reads the live machine again (after a config write): new topology, new verdicts.
    @discardableResult func reloadLive() -> Bool {
        guard topology.source.kind == .live, let t = try? TopologySource.live.load() else { return false }
        topology = t
        analyzer = analyzer.with(topology: t)
        verdicts = [:]
        endpoints = matrixShowsAll ? analyzer.endpoints : analyzer.p2pEndpoints
        tree.rebuild(t, names: names)
        return true
    }

    // MARK: the machine's counters

    func tickTelemetry() {
        let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
        if lastTelemetry < 0 || now - lastTelemetry >= 0.5 { telemetry.tick(time: now); lastTelemetry = now }
    }

    /// Bytes per second read and written, per PCI function, from the block devices and RDMA
    /// ports sitting on it (their OS devices) and, where NVML answers, the GPUs' PCIe counters;
    /// a function with no rate yet is absent, never 0. Live machines only (or a supplied source).
    func deviceRates() -> [BDF: (read: Double, write: Double)] {
        if let measuredRates { return measuredRates() }
        guard topology.source.kind == .live else { return [:] }
        tickTelemetry()
        var out: [BDF: (read: Double, write: Double)] = [:]
        for d in topology.devices {
            var read = 0.0, write = 0.0, known = false
            for os in d.sysfs?.osDevices ?? [] {
                switch os.kind {
                case .block:
                    if let r = telemetry.series["block.read_bytes{\(os.name)}"]?.rate { read += r; known = true }
                    if let w = telemetry.series["block.write_bytes{\(os.name)}"]?.rate { write += w; known = true }
                case .openfabrics:
                    for (key, s) in telemetry.series where key.contains("{\(os.name)/") {
                        guard key.hasPrefix("rdma.rcv_bytes{") || key.hasPrefix("rdma.xmit_bytes{"), let r = s.rate else { continue }
                        known = true
                        if key.hasPrefix("rdma.rcv_bytes") { write += r } else { read += r }
                    }
                default: break
                }
            }
            if known { out[d.bdf] = (read, write) }
        }
        for g in gpuCounters?.sample() ?? [] {
            guard let b = BDF(g.busID), let rx = g.rxBytesPerSecond, let tx = g.txBytesPerSecond else { continue }
            // NVML's RX is what the GPU receives (a write into it), TX what it sends (a read).
            out[b] = ((out[b]?.read ?? 0) + tx, (out[b]?.write ?? 0) + rx)
        }
        return out
    }

    /// Packets per second through the software RDMA ports (rxe) on each function — those keep
    /// packet counters only, so their traffic is shown in packets, never guessed as bytes.
    func packetRates() -> [BDF: Double] {
        guard measuredRates == nil, topology.source.kind == .live else { return [:] }
        tickTelemetry()
        var out: [BDF: Double] = [:]
        for d in topology.devices {
            for os in d.sysfs?.osDevices ?? [] where os.kind == .openfabrics {
                for (key, s) in telemetry.series where key.contains("{\(os.name)/") && (key.hasPrefix("rdma.xmit_packets{") || key.hasPrefix("rdma.rcv_packets{")) {
                    if let r = s.rate { out[d.bdf, default: 0] += r }
                }
            }
        }
        return out
    }

    /// The links a function's traffic crosses on its way to the root, nearest first: each
    /// function's link to the port above it, with the payload it can carry per second
    /// (`LinkCeiling`: after encoding and TLP overhead).
    func linksAbove(_ b: BDF) -> [(below: BDF, status: LinkState, bytesPerSecond: Double)] {
        ([b] + topology.upstreamPath(b)).compactMap { x in
            guard topology.parent(x) != nil, let d = topology.device(x) else { return nil }
            if d.express?.portType == .rootPort || d.express?.portType == .downstreamPort { return nil }
            guard let c = topology.linkCeiling(of: d) else { return nil }
            return (x, c.link, c.payload)
        }
    }

    /// The narrowest link above a function, when it is narrower than the function's own.
    func upstreamBottleneck(_ b: BDF) -> (below: BDF, status: LinkState, bytesPerSecond: Double)? {
        let links = linksAbove(b)
        guard let own = links.first(where: { $0.below == b }), let narrowest = links.min(by: { $0.bytesPerSecond < $1.bytesPerSecond }),
              narrowest.bytesPerSecond < own.bytesPerSecond else { return nil }
        return narrowest
    }

    public var transfersRunning: Bool { jobs.contains { !$0.snapshot.finished } }
}

func rateText(_ bytesPerSecond: Double) -> String {
    let units = ["B/s", "K/s", "M/s", "G/s"]
    var v = bytesPerSecond, i = 0
    while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
    return (v >= 10 || i == 0 ? String(Int(v.rounded())) : format1(v)) + units[i]
}

/// `12k pkt/s`: packets per second, for ports that count packets only.
func packetText(_ perSecond: Double) -> String {
    perSecond >= 1e6 ? "\(format1(perSecond / 1e6))M pkt/s" : perSecond >= 1e3 ? "\(Int((perSecond / 1e3).rounded()))k pkt/s" : "\(Int(perSecond.rounded())) pkt/s"
}

extension String {
    func padded(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}

