import P2PDMA
import P2PEngine
import PCISources
import PCITopology

/// One comparison: what p2ptop predicted from the guest's snapshot alone, what the kernel did.
public struct LabExperiment: Sendable {
    public var name: String
    /// What part of the model it checks (`LabStep.Kind.group`, or "topology").
    public var group = "topology"
    public var predicted: String
    public var observed: String
    public var agree: Bool
    public var detail: String

    public init(name: String, predicted: String, observed: String, agree: Bool, detail: String = "") {
        self.name = name; self.predicted = predicted; self.observed = observed; self.agree = agree; self.detail = detail
    }
}

/// Model against kernel: every observation of a boot is predicted from the snapshot the guest
/// took before it ran anything (with the guest's kernel version and CPU), then compared.
public struct Conformance {
    public let snapshot: Topology
    public let analyzer: P2PAnalyzer
    /// Under an emulated IOMMU QEMU translates even BUS_ADDR peer writes, so an accepted
    /// mapping is checked at the kernel's decision, not by bytes landing.
    public let iommu: Bool

    public init(snapshot: Topology, iommu: Bool) {
        self.snapshot = snapshot
        self.iommu = iommu
        let kernel = snapshot.host.kernelRelease.flatMap(KernelVersion.init(parsing:)) ?? .latest
        analyzer = P2PAnalyzer(topology: snapshot, kernel: kernel, cpu: CPUInfo(vendor: snapshot.host.cpuVendor, family: snapshot.host.cpuFamily))
    }

    public func compare(_ report: LabReport, lspci: String?) -> [LabExperiment] {
        var out: [LabExperiment] = []
        if let lspci { out += LspciComparison.compare(snapshot, lspci: lspci) }
        out += acsAfterBoot()
        for o in report.observations { out.append(compare(o)) }
        return out
    }

    /// Each ACS port's control as the kernel left it at boot, predicted from its capability,
    /// the IOMMU, the command line's ACS parameters and the kernel's version (QEMU's ports
    /// reset to 0), against the value in the guest's snapshot.
    func acsAfterBoot() -> [LabExperiment] {
        guard let facts = snapshot.host.facts else { return [] }
        let params = ACSBoot.Parameters(cmdline: facts.cmdlineFlags, kernel: analyzer.kernel)
        return snapshot.devices.compactMap { d -> LabExperiment? in
            guard let acs = d.acs else { return nil }
            let predicted = ACSBoot.control(port: d.bdf, capability: acs.capability, iommuRequestsACS: !facts.iommuUnits.isEmpty,
                                            parameters: params, kernel: analyzer.kernel)
            func text(_ b: ACSBits) -> String {
                let hex = String(b.rawValue, radix: 16)
                let word = "0x" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                return b.isEmpty ? word : word + " " + b.names.joined(separator: " ")
            }
            var e = LabExperiment(name: "ACSCtl \(d.bdf)" + (snapshot.alias(d.bdf).map { " (\($0))" } ?? "") + " after boot", predicted: predicted.map(text) ?? "not modelled",
                                  observed: text(acs.control), agree: predicted == acs.control,
                                  detail: (facts.iommuUnits.isEmpty ? "no IOMMU" : "IOMMU \(facts.iommuUnits.joined(separator: ","))")
                                    + (params.disableRedirect.isEmpty && params.config.isEmpty ? "" : "; " + facts.cmdlineFlags.filter { $0.hasPrefix("pci=") }.joined(separator: " "))
                                    + (params.ignored.isEmpty ? "" : "; ignored by \(analyzer.kernel): " + params.ignored.joined(separator: " ")))
            e.group = "acs"
            return e
        }
    }

    func engine() -> Engine? { try? Engine(topology: snapshot, analyzer: analyzer) }

    func compare(_ o: LabObservation) -> LabExperiment {
        var e = experiment(o)
        e.group = o.step.kind.group
        return e
    }

    func experiment(_ o: LabObservation) -> LabExperiment {
        let s = o.step
        if o.observed.hasPrefix("skipped") || o.observed == "bad source" {
            return LabExperiment(name: s.name, predicted: "—", observed: o.observed, agree: false, detail: o.detail)
        }
        switch s.kind {
        case .verdict: return verdict(o)
        case .reason: return reason(o)
        case .pins: return pins(o)
        case .p2pmemRule: return p2pmemRule(o)
        case .available: return available(o)
        case .rdmaRegister, .rdmaDmabuf: return rdmaRegister(o)
        case .rdmaWrite:
            return same(o, predicted: "ok", observed: o.observed == "ok" && o.verified == true ? "ok" : o.observed,
                        detail: (o.gbps.map { "\(fmt($0)) GB/s, " } ?? "") + o.detail)
        case .barRead, .barWrite, .barPolicy: return bar(o)
        case .unbind: return unbind(o)
        }
    }

    func same(_ o: LabObservation, predicted: String, observed: String? = nil, detail: String = "") -> LabExperiment {
        let seen = observed ?? o.observed
        return LabExperiment(name: o.step.name, predicted: predicted, observed: seen, agree: predicted == seen, detail: detail.isEmpty ? o.detail : detail)
    }

    /// The map type decides: NOT_SUPPORTED exactly when the kernel refuses (EREMOTEIO, EINVAL
    /// from 6.17's block DMA iterator); otherwise every byte lands and verifies (under the
    /// IOMMU: the kernel accepted it). Before 6.2 there is no p2pmem/allocate to read into.
    func verdict(_ o: LabObservation) -> LabExperiment {
        guard let client = o.step.device, let provider = o.step.memory?.p2pmemDevice else { return same(o, predicted: "?") }
        let v = analyzer.verdict(provider: provider, client: client)
        guard analyzer.kernel.userspaceP2PDMA else {
            return same(o, predicted: "ENOENT", detail: "no p2pmem/allocate before 6.2 (\(KernelRules.userspaceP2PDMA.commit)); the kernel's verdict would be \(v.mapType.rawValue)")
        }
        let refused = analyzer.kernel.refusedP2PReadErrno
        let agree: Bool
        var detail = v.reason
        switch v.mapType {
        case .notSupported:
            agree = o.observed == refused
            if !agree { detail = "expected \(refused) on \(analyzer.kernel): " + detail }
        case .busAddr, .thruHostBridge:
            if iommu {
                // The kernel mapped it; QEMU's IOMMU then translates the peer write (a real
                // switch would route it below the IOMMU), so the bytes need not land.
                agree = o.observed != refused
                if o.observed != "ok" { detail = "mapped by the kernel; QEMU's IOMMU faulted the peer write (\(o.observed)) — " + detail }
            } else {
                agree = o.observed == "ok" && o.verified == true
            }
        }
        if o.observed == "ok", let p = o.pinsAcquired { detail = "verified, \(p) pins; " + detail }
        let shown = iommu && o.observed == "corrupt" ? "mapped, IOMMU fault" : o.observed
        return LabExperiment(name: o.step.name, predicted: v.mapType.rawValue, observed: shown, agree: agree, detail: detail)
    }

    /// p2ptop's reason against the kernel's pci_warn lines: the ACS ports named with the
    /// doctor's own remedy, and the refusal.
    func reason(_ o: LabObservation) -> LabExperiment {
        guard let client = o.step.device, let provider = o.step.memory?.p2pmemDevice else { return same(o, predicted: "?") }
        let v = analyzer.verdict(provider: provider, client: client)
        // Before 6.2 the read never reaches a DMA mapping (no p2pmem/allocate): no reason line.
        guard analyzer.kernel.userspaceP2PDMA else {
            return LabExperiment(name: "reason " + o.step.name, predicted: "none", observed: o.observed, agree: o.observed == "none",
                                 detail: "no p2pmem/allocate before 6.2: the kernel is never asked")
        }
        var parts: [String] = []
        if v.commonUpstream != nil && !v.acsRedirect.isEmpty {
            let remedy = Self.remedy(Doctor(analyzer: analyzer).findings(for: v))
                ?? "pci=disable_acs_redir=" + v.acsRedirect.map(\.description).joined(separator: ";")
            parts.append("ACS redirect: " + KernelReason.normalize(remedy))
        }
        if v.mapType == .notSupported { parts.append("not allowlisted") }
        for hb in analyzer.hostBridgeWarnings(provider: provider, client: client, acsRedirect: v.commonUpstream != nil && !v.acsRedirect.isEmpty) {
            parts.append("host bridge \(hb.device!) " + hex4(hb.vendorID ?? 0) + ":" + hex4(hb.deviceID ?? 0))
        }
        let predicted = parts.isEmpty ? "none" : parts.joined(separator: "; ")
        // The kernel's lines are recorded with the step: read them as today's classifier does.
        let observed = o.kernelLog.isEmpty ? o.observed : KernelReason.classify(o.kernelLog)
        return LabExperiment(name: "reason " + o.step.name, predicted: predicted, observed: observed, agree: predicted == observed,
                             detail: o.kernelLog.filter { $0.contains("peer-to-peer") || $0.contains("ACS") || $0.contains("Host bridge") }.joined(separator: " | "))
    }

    /// The doctor's `pci=disable_acs_redir=…`, as it tells the user to boot with.
    public static func remedy(_ findings: [Finding]) -> String? {
        for f in findings where f.code == "acs-redirect" {
            if let token = f.remedy.split(separator: " ").first(where: { $0.hasPrefix("pci=disable_acs_redir=") }) { return String(token) }
        }
        return nil
    }

    /// The remedy for the first pair the kernel sends through the root complex only because of
    /// ACS redirect at their common upstream port (nil when no pair is in that state).
    public func doctorRemedy() -> String? {
        for c in snapshot.devices where c.sysfs?.driver == "nvme" {
            for p in snapshot.devices where p.sysfs?.p2pmem?.published == true && p.bdf != c.bdf {
                let v = analyzer.verdict(provider: p.bdf, client: c.bdf)
                if !v.acsRedirect.isEmpty, v.commonUpstream != nil, let r = Self.remedy(Doctor(analyzer: analyzer).findings(for: v)) { return r }
            }
        }
        return nil
    }

    /// The engine runs the same transfer: its pin count (or its refusal) against /proc/vmstat.
    func pins(_ o: LabObservation) -> LabExperiment {
        guard let client = o.step.device, let e = engine() else { return same(o, predicted: "?") }
        let s = o.step
        if s.memory?.p2pmemDevice != nil && !analyzer.kernel.userspaceP2PDMA {
            return same(o, predicted: "ENOENT", detail: "no p2pmem/allocate before 6.2 (\(KernelRules.userspaceP2PDMA.commit))")
        }
        let r = TransferRunner(engine: e).run(TransferRequest(from: client, to: s.memory?.p2pmemDevice, size: s.size, block: s.block, queueDepth: s.queueDepth,
                                                              method: .odirect, unthrottled: true, registeredBuffer: s.queue == "io_uring-fixed",
                                                              nowait: s.queue.hasPrefix("io_uring"), queueLimit: s.queueLimit))
        let predicted = r.ok ? "\(r.pinsAcquired)" : r.error!.errno.name
        var detail = r.error?.message ?? "engine: \(r.ios) I/Os, \(r.pinsReleased) released" + (s.queueLimit.map { ", queue limit \($0 >> 10) KiB" } ?? "")
        if let a = o.pinsAcquired, let b = o.pinsReleased, o.observed == String(a) { detail += "; kernel: \(b) released" }
        return same(o, predicted: predicted, detail: detail)
    }

    func p2pmemRule(_ o: LabObservation) -> LabExperiment {
        guard let p = o.step.memory?.p2pmemDevice, let e = engine() else { return same(o, predicted: "?") }
        let length = o.step.variant == "beyond" ? ((e.providers[p]?.available ?? 0) / PAGE_SIZE + 1) * PAGE_SIZE : 2 << 20
        let predicted: String
        do {
            let v = try e.mmapP2PMem(p, length: length, shared: o.step.variant != "MAP_PRIVATE", offset: o.step.variant == "offset" ? PAGE_SIZE : 0)
            e.munmap(v)
            predicted = "ok"
        } catch { predicted = error.errno.name }
        return same(o, predicted: predicted)
    }

    func available(_ o: LabObservation) -> LabExperiment {
        guard let p = o.step.memory?.p2pmemDevice, let e = engine(), let provider = e.providers[p] else { return same(o, predicted: "?") }
        let before = provider.available
        let v: VMA
        do { v = try e.mmapP2PMem(p, length: o.step.size) } catch { return same(o, predicted: error.errno.name, detail: error.message) }
        let mapped = provider.available
        e.munmap(v)
        return same(o, predicted: AvailableText.text(fell: before - mapped, recovered: provider.available - mapped))
    }

    /// ib_umem_get in the engine (the GUP core's rules), or the driver table for dma-buf MRs.
    func rdmaRegister(_ o: LabObservation) -> LabExperiment {
        guard let e = engine() else { return same(o, predicted: "?") }
        let s = o.step
        var predicted: String
        var detail = o.detail
        if s.kind == .rdmaDmabuf {
            let device = snapshot.host.rdma?.devices.first?.name ?? ""
            let driver = String(device.reversed().drop { $0.isNumber }.drop { $0 == "_" }.reversed())
            switch RDMADriverModel.supportsDmabufMR(driver: driver, kernel: analyzer.kernel) {
            case .some(true): predicted = "ok"
            case .some(false): predicted = "EOPNOTSUPP"; detail = "\(driver) has no reg_user_mr_dmabuf"
            case .none: predicted = "EOPNOTSUPP"
            }
            return same(o, predicted: predicted, detail: detail)
        }
        do {
            let v: VMA
            switch s.memory ?? .host {
            case .p2pmem(let p): v = try e.mmapP2PMem(p, length: s.size)
            default: v = try e.mmapHost(length: s.size)
            }
            defer { e.munmap(v) }
            let pages = try e.registerMR(v, access: s.variant == "write" ? [.localWrite, .remoteWrite] : [])
            e.putUserPages(pages)
            predicted = "ok, VmPin \(pages.count * PAGE_SIZE / 1024) kB"
        } catch {
            predicted = error.errno.name
            detail = error.message
        }
        let observed = o.observed == "ok" ? "ok, VmPin \(o.vmPinKB ?? 0) kB" : o.observed
        return same(o, predicted: predicted, observed: observed, detail: detail)
    }

    func bar(_ o: LabObservation) -> LabExperiment {
        let s = o.step
        guard let d = s.device.flatMap({ snapshot.device($0) }), let b = d.bars.first(where: { $0.index == (s.bar ?? 0) }) else { return same(o, predicted: "?") }
        let facts = BARAccessPolicy.Facts(bar: b, driver: d.sysfs?.driver, hasResourceFile: d.sysfs?.resourceFiles.contains(b.index) ?? false,
                                          isRoot: true, lockdown: snapshot.host.facts?.lockdown, iomemStrict: snapshot.host.facts?.iomemStrict ?? false)
        let decision = BARAccessPolicy.check(facts, write: s.kind != .barRead, allowWrite: true, allowDriverBAR: true)
        var predicted: String
        switch decision {
        case .allowed: predicted = s.kind == .barPolicy ? "allowed" : "ok"
        case .refused(let rule, _): predicted = "refused (\(rule))"
        }
        let detail = (o.gbps.map { "\(fmt($0)) GB/s; " } ?? "") + o.detail
        if s.kind != .barPolicy, predicted.hasPrefix("refused") { predicted = "refused" }
        return same(o, predicted: predicted, detail: detail)
    }

    /// The engine's unbind story: allocate mappings zapped, no pins to wait for, and the next
    /// access faults with SIGBUS.
    func unbind(_ o: LabObservation) -> LabExperiment {
        guard let p = o.step.memory?.p2pmemDevice, let e = engine() else { return same(o, predicted: "?") }
        if o.step.variant == "pinned", let client = o.step.device {
            return unbindPinned(o, e, provider: p, client: client)
        }
        do {
            let v = try e.mmapP2PMem(p, length: o.step.size)
            let r = try e.unbind(p)
            var predicted = e.access(v.start).rawValue
            if case .waiting = r { predicted = "waits" }
            e.munmap(v)
            return same(o, predicted: predicted, detail: "engine: unbind \(r.text) at once; kernel: \(o.detail)")
        } catch {
            return same(o, predicted: error.errno.name)
        }
    }
}

extension Conformance {
    /// The engine's story for an unbind under an O_DIRECT read: the read's first I/O pins its
    /// pages and maps them for the client; refused (NOT_SUPPORTED) it holds nothing and the
    /// unbind returns; accepted, the unbind waits for those pins.
    func unbindPinned(_ o: LabObservation, _ e: Engine, provider p: BDF, client: BDF) -> LabExperiment {
        guard analyzer.kernel.userspaceP2PDMA else {
            return same(o, predicted: "returns", detail: "no p2pmem/allocate before 6.2: the read cannot start, nothing is pinned; kernel: \(o.detail)")
        }
        do {
            let v = try e.mmapP2PMem(p, length: o.step.size)
            defer { e.munmap(v) }
            let pages = try e.getUserPages(v.start, pages: o.step.block / PAGE_SIZE, flags: [.PIN, .WRITE, .PCI_P2PDMA])
            var held = pages
            do { _ = try e.dmaMap(e.buildSG(pages), client: client) } catch { e.putUserPages(pages); held = [] }
            let r = try e.unbind(p)
            e.putUserPages(held)
            _ = e.finishUnbind(p)
            let predicted: String
            if case .waiting = r { predicted = "waits" } else { predicted = "returns" }
            return same(o, predicted: predicted, detail: "engine: unbind \(r.text)\(held.isEmpty ? " (the read was refused: nothing pinned)" : ""); kernel: \(o.detail)")
        } catch {
            return same(o, predicted: error.errno.name)
        }
    }
}

extension Engine.UnbindResult {
    var text: String {
        switch self {
        case .done: "done"
        case .waiting(let n, _): "waits for \(n) pinned pages"
        }
    }
}

func hex4(_ v: UInt16) -> String {
    let h = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 4 - h.count)) + h
}

func fmt(_ v: Double) -> String {
    let scaled = (v * 100).rounded() / 100
    return "\(scaled)"
}
