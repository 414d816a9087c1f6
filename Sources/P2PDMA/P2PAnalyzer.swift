import PCITopology

/// The kernel's P2PDMA decisions as pure functions over a `Topology`
/// (`drivers/pci/p2pdma.c :: calc_map_type_and_dist`, `host_bridge_whitelist`).
public struct P2PAnalyzer: Sendable {
    public let topology: Topology
    public let kernel: KernelVersion
    public let cpu: CPUInfo
    /// The running kernel's config says `# CONFIG_PCI_P2PDMA is not set` (this file): no pair
    /// can map, whatever the topology (nil: built with it, or not known).
    public let p2pdmaOff: String?
    /// Chain of each device: itself, then its upstream bridges (`pci_upstream_bridge`).
    private let chains: [BDF: [BDF]]
    private let rootBusFirst: [Topology.RootBus: BDF]
    /// Per-device facts computed once (the matrix asks for them hundreds of thousands of times).
    private let acsStates: [BDF: ACSState]
    private let hostBridges: [BDF: HostBridge]
    private let entries: [AllowlistEntry]
    private let reasons = ReasonCache()
    /// Clients whose DMA mask is narrower than 64 bits (almost always none), and whether any
    /// function sits in an IOMMU group: computed once, read on every pair.
    let narrowMasks: [BDF: Int]
    let iommuPresent: Bool

    public init(topology: Topology, kernel: KernelVersion = .latest, cpu: CPUInfo = .unknown, p2pdmaOff: String? = nil) {
        self.topology = topology
        self.kernel = kernel
        self.cpu = cpu
        self.p2pdmaOff = p2pdmaOff
        var chains: [BDF: [BDF]] = [:]
        for d in topology.devices { chains[d.bdf] = [d.bdf] + topology.upstreamPath(d.bdf) }
        // pci_upstream_bridge() substitutes the PF for a VF: a VF hangs where its PF hangs.
        for d in topology.devices {
            if let pf = d.sysfs?.physfn, pf != d.bdf, let pfChain = chains[pf] { chains[d.bdf] = [d.bdf] + pfChain.dropFirst() }
        }
        self.chains = chains
        var masks: [BDF: Int] = [:]
        for d in topology.devices { if let bits = d.sysfs?.dmaMaskBits, bits < 64 { masks[d.bdf] = bits } }
        self.narrowMasks = masks
        self.iommuPresent = topology.devices.contains { $0.sysfs?.iommuGroup != nil }
        var first: [Topology.RootBus: BDF] = [:]
        for d in topology.devices where topology.parent(d.bdf) == nil {
            let key = Topology.RootBus(domain: d.bdf.domain, bus: d.bdf.bus)
            if first[key] == nil { first[key] = d.bdf }   // devices are sorted: lowest devfn first
        }
        rootBusFirst = first
        entries = Allowlist.entries(for: kernel)
        var acs: [BDF: ACSState] = [:]
        for d in topology.devices { acs[d.bdf] = P2PAnalyzer.computeACSState(d) }
        acsStates = acs
        var hbs: [BDF: HostBridge] = [:]
        for d in topology.devices {
            hbs[d.bdf] = P2PAnalyzer.computeHostBridge(of: d.bdf, chains: chains, first: first, topology: topology, kernel: kernel)
        }
        hostBridges = hbs
    }

    // MARK: ACS

    public enum ACSState: Sendable { case redirects, clear, unknown }

    /// `pci_acs_path_enabled`-style test of one device: RR, CR or EC set in ACS Control.
    public func acsState(_ bdf: BDF) -> ACSState { acsStates[bdf] ?? .clear }

    static func computeACSState(_ d: Device) -> ACSState {
        if let acs = d.acs { return acs.control.isDisjoint(with: .p2pRedirect) ? .clear : .redirects }
        switch d.capabilities.coverage {
        case .unreadable: return .unknown
        case .standardOnly where d.express != nil: return .unknown
        default: return .clear   // no ACS capability: counts as "no redirect"
        }
    }

    // MARK: host bridges

    public func hostBridge(of bdf: BDF) -> HostBridge {
        hostBridges[bdf] ?? P2PAnalyzer.computeHostBridge(of: bdf, chains: chains, first: rootBusFirst, topology: topology, kernel: kernel)
    }

    static func computeHostBridge(of bdf: BDF, chains: [BDF: [BDF]], first rootBusFirst: [Topology.RootBus: BDF],
                                  topology: Topology, kernel: KernelVersion) -> HostBridge {
        let top = chains[bdf]?.last ?? bdf
        let key = Topology.RootBus(domain: top.domain, bus: top.bus)
        var hb = HostBridge(domain: top.domain, rootBus: top.bus, device: nil, vendorID: nil, deviceID: nil)
        if let first = rootBusFirst[key], let d = topology.device(first) {
            let isRootPort = d.express?.portType == .rootPort
            if (first.device == 0 && first.function == 0) || (kernel.rootPortHostBridgeDevice && isRootPort) {
                hb.device = first; hb.vendorID = d.vendorID; hb.deviceID = d.deviceID
            }
        }
        return hb
    }

    func matchEntry(_ hb: HostBridge) -> AllowlistEntry? {
        guard let v = hb.vendorID, let d = hb.deviceID else { return nil }
        return entries.first { $0.vendor == v && ($0.device == nil || $0.device == d) }
    }

    /// The host bridges the kernel names in "Host bridge not in P2PDMA whitelist" while it
    /// judges this pair (`__host_bridge_whitelist` warns only when ACS redirect sent the pair
    /// to the host bridge): the provider's first, the client's only when the provider's passed;
    /// none for a root bus without a device the kernel takes for its host bridge.
    public func hostBridgeWarnings(provider p: BDF, client c: BDF, acsRedirect: Bool) -> [HostBridge] {
        guard acsRedirect, !(kernel.amdZenRule && cpu.isAMDZenOrLater) else { return [] }
        let hp = hostBridge(of: p), hc = hostBridge(of: c)
        for hb in hp == hc ? [hp] : [hp, hc] {
            guard hb.device != nil else { return [] }
            guard let e = matchEntry(hb) else { return [hb] }
            if e.requiresSameHostBridge && hp != hc { return [] }
        }
        return []
    }

    /// `host_bridge_route`: the CPU rule first, then the allowlist for both host bridges.
    public func hostBridgeRoute(_ p: BDF, _ c: BDF) -> (MapType, HostBridgeRule, [HostBridge]) {
        let hp = hostBridge(of: p), hc = hostBridge(of: c)
        let bridges = hp == hc ? [hp] : [hp, hc]
        if kernel.amdZenRule && cpu.isAMDZenOrLater { return (.thruHostBridge, .amdZenCPU(cpu), bridges) }
        if hp == hc {
            guard let e = matchEntry(hp) else { return (.notSupported, .notAllowlisted([hp]), bridges) }
            return (.thruHostBridge, .allowlisted([e]), bridges)
        }
        let ep = matchEntry(hp), ec = matchEntry(hc)
        let missing = [(hp, ep), (hc, ec)].filter { $0.1 == nil }.map { $0.0 }
        if !missing.isEmpty { return (.notSupported, .notAllowlisted(missing), bridges) }
        if let same = [ep!, ec!].first(where: { $0.requiresSameHostBridge }) {
            return (.notSupported, .needsSameHostBridge(same), bridges)
        }
        return (.thruHostBridge, .allowlisted([ep!, ec!]), bridges)
    }

    // MARK: the decision

    public func verdict(provider p: BDF, client c: BDF) -> Verdict {
        let chainP = chains[p] ?? [p], chainC = chains[c] ?? [c]
        var acsHits: [BDF] = [], unknown: [BDF] = []
        func test(_ x: BDF) {
            switch acsState(x) {
            case .redirects: acsHits.append(x)
            case .unknown: unknown.append(x)
            case .clear: break
            }
        }
        var common: BDF? = nil
        var upA = 0, upB = 0
        outer: for (i, a) in chainP.enumerated() {
            test(a)
            if let j = chainC.firstIndex(of: a) {
                common = a; upA = i; upB = j
                break outer
            }
        }
        if let ca = common {
            for b in chainC.prefix(upB) where b != ca { test(b) }
        } else {
            upA = chainP.count; upB = chainC.count
        }
        let hops = common.map { ca in Array(chainP.prefix(upA + 1)) + chainC.prefix(upB).reversed() }
            ?? (chainP + chainC.reversed())
        var v = Verdict(provider: p, client: c, mapType: .busAddr, distance: upA + upB, acsRedirect: acsHits,
                        acsUnknown: unknown, commonUpstream: common, hostBridges: [], hostBridgeRule: nil,
                        pathClass: pathClass(p, c, common: common), hops: hops, kernel: kernel, reason: "")
        decide(&v)
        // The pair maps, but can the client reach the BAR? Said in the verdict's detail.
        if let u = unreachableBAR(provider: p, client: c, mapType: v.mapType) {
            v.reason += "; but " + u.text + ": the client's DMA there would fail"
            v.reasonID = -1
        }
        return v
    }

    /// The same rules (kernel, CPU, the running kernel's config) over a changed topology.
    public func with(topology t: Topology) -> P2PAnalyzer { P2PAnalyzer(topology: t, kernel: kernel, cpu: cpu, p2pdmaOff: p2pdmaOff) }

    /// The running kernel's facts first: built without CONFIG_PCI_P2PDMA, every pair is
    /// refused; what a kernel with it would compute is kept in the reason, labelled so.
    private func decide(_ v: inout Verdict) {
        guard let file = p2pdmaOff else { decideKernel(&v); return }
        var would = v
        decideKernel(&would)
        v.mapType = .notSupported
        v.distance = nil
        v.reason = "this kernel is built without CONFIG_PCI_P2PDMA (\(file)): every pair is refused"
            + " (a kernel with it would say \(would.mapType.rawValue): \(would.reason))"
    }

    private func decideKernel(_ v: inout Verdict) {
        if !kernel.hasP2PDMA {
            v.mapType = .notSupported
            v.reason = "kernel \(kernel) predates P2PDMA (4.20)"
            return
        }
        if !kernel.hostBridgeFallback {
            decideLegacy(&v)
            return
        }
        if v.commonUpstream != nil && v.acsRedirect.isEmpty {
            v.mapType = .busAddr
            v.reason = reasons.text(ReasonKey(common: v.commonUpstream, acs: [], unknown: v.acsUnknown, rule: nil)) {
                "meet below \(name(v.commonUpstream!)) with no ACS redirect: bus addresses, no IOMMU" + unknownNote(v)
            }
            v.reasonID = reasons.lastID
            return
        }
        let (type, rule, bridges) = hostBridgeRoute(v.provider, v.client)
        v.mapType = type
        v.hostBridgeRule = rule
        v.hostBridges = bridges
        let acsOnWalk = v.commonUpstream == nil ? [] : v.acsRedirect
        v.reason = reasons.text(ReasonKey(common: v.commonUpstream, acs: acsOnWalk, unknown: v.acsUnknown, rule: rule)) {
            let why = v.commonUpstream == nil
                ? "no common upstream bridge"
                : "ACS redirect on " + v.acsRedirect.map(name).joined(separator: ", ")
            return why + "; " + ruleText(rule) + unknownNote(v)
        }
        v.reasonID = reasons.lastID
    }

    /// 4.20–5.3: `upstream_bridge_distance`, no host-bridge fallback.
    private func decideLegacy(_ v: inout Verdict) {
        if v.commonUpstream == nil {
            let hp = hostBridge(of: v.provider), hc = hostBridge(of: v.client)
            if kernel.rootComplexWhitelist, [hp, hc].allSatisfy({ $0.device?.device == 0 && $0.device?.function == 0
                && $0.vendorID == Allowlist.zenRootComplex.0 && $0.deviceID == Allowlist.zenRootComplex.1 }),
               !iommuPresent {
                v.mapType = .thruHostBridge
                v.hostBridgeRule = .rootComplexWhitelist
                v.hostBridges = hp == hc ? [hp] : [hp, hc]
                v.distance = 0x1000 + (v.distance ?? 0)
                v.reason = "no common upstream bridge; AMD Zen root complex 1022:1450 whitelisted (kernel \(kernel), no IOMMU)"
                return
            }
            v.mapType = .notSupported
            v.distance = nil
            v.hostBridgeRule = .noHostBridgeRoute(kernel)
            v.reason = "no common upstream bridge; kernel \(kernel) has no host-bridge route (5.4+)"
            return
        }
        if !v.acsRedirect.isEmpty {
            v.mapType = .notSupported
            v.distance = nil
            v.reason = "ACS redirect on " + v.acsRedirect.map(name).joined(separator: ", ")
                + "; kernel \(kernel) rejects it (no host-bridge fallback before 5.4)"
            return
        }
        v.mapType = .busAddr
        v.reason = "meet below \(name(v.commonUpstream!)) with no ACS redirect" + unknownNote(v)
    }

    /// Any IOMMU group seen in the sysfs facts.

    private func unknownNote(_ v: Verdict) -> String {
        v.acsUnknown.isEmpty ? "" : " (ACS unknown on \(v.acsUnknown.map(name).joined(separator: ", ")): \(topology.source.configUnreadableShort))"
    }

    func ruleText(_ r: HostBridgeRule) -> String {
        switch r {
        case .amdZenCPU(let c): return "allowed through the host bridge: AMD CPU family 0x\(String(c.family ?? 0, radix: 16)) ≥ 0x17"
        case .allowlisted(let es): return "allowed through the host bridge: " + es.map { $0.description }.joined(separator: ", ") + " allowlisted"
        case .rootComplexWhitelist: return "AMD root complex whitelisted"
        case .notAllowlisted(let hbs):
            return "host bridge " + hbs.map { $0.description }.joined(separator: ", ") + " not in the P2PDMA allowlist"
                + (cpu.vendor == nil ? " (CPU unknown: treated as not AMD)" : "")
        case .needsSameHostBridge(let e): return "\(e) is allowlisted only within one host bridge"
        case .noHostBridgeRoute(let k): return "kernel \(k) has no host-bridge route"
        }
    }

    func name(_ b: BDF) -> String { topology.alias(b).map { "\($0) (\(b.short))" } ?? b.description }

    // MARK: path class

    func numa(_ b: BDF) -> Int? {
        for x in chains[b] ?? [b] { if let n = topology.device(x)?.sysfs?.numaNode { return n } }
        return nil
    }

    public func pathClass(_ p: BDF, _ c: BDF, common: BDF?) -> PathClass {
        if p == c { return .same }
        if let ca = common {
            // Switches crossed: distinct switch upstream ports among the bridges on the path.
            let below = (chains[p] ?? []).prefix { $0 != ca } + (chains[c] ?? []).prefix { $0 != ca } + [ca]
            var switches: [BDF] = []
            var otherBridges = 0
            for b in below where b != p && b != c {
                let id: BDF?
                switch topology.kind(b) {
                case .switchUpstream: id = b
                case .switchDownstream: id = topology.parent(b) ?? b
                default: id = nil; if topology.device(b)?.isBridge == true { otherBridges += 1 }
                }
                if let id, !switches.contains(id) { switches.append(id) }
            }
            return switches.count + otherBridges <= 1 ? .pix : .pxb
        }
        let hp = hostBridge(of: p), hc = hostBridge(of: c)
        if hp.domain == hc.domain && hp.rootBus == hc.rootBus { return .phb }
        if let np = numa(p), let nc = numa(c), np != nc { return .sys }
        return .node
    }

    // MARK: matrix

    /// Endpoint functions: header type 0 and not a bridge class (06xx).
    public var endpoints: [Device] {
        topology.devices.filter { $0.headerType == 0 && $0.baseClass != 0x06 }
    }

    /// The endpoints that can take part in P2P DMA: GPUs and accelerators, NICs (Ethernet and
    /// InfiniBand), NVMe and other storage controllers that DMA (not SATA, IDE or floppy), and
    /// every p2pmem provider whatever its class. Left out: display-only GPUs, and functions
    /// such as a memory balloon, vsock, an RNG, SMBus or a SATA port.
    public var p2pEndpoints: [Device] {
        endpoints.filter { d in
            if d.sysfs?.p2pmem != nil { return true }
            switch topology.kind(d.bdf) {
            case .gpu, .accelerator, .nic, .nvme: return true
            case .storage: return ![0x0101, 0x0102, 0x0106].contains(d.classCode)
            default: return false
            }
        }
    }

    /// Every ordered pair of distinct devices from `devices`.
    public func matrix(_ devices: [Device]) -> [Verdict] {
        var out: [Verdict] = []
        out.reserveCapacity(devices.count * max(0, devices.count - 1))
        forEachPair(devices) { out.append($0) }
        return out
    }

    /// Every ordered pair, provider by provider, handed over one at a time: what a matrix of
    /// thousands of endpoints is written from, so that memory stays with the endpoints (O(N)),
    /// not the pairs (O(N²)).
    public func forEachPair(_ devices: [Device], _ body: (Verdict) -> Void) {
        for p in devices { for c in devices where c.bdf != p.bdf { body(verdict(provider: p.bdf, client: c.bdf)) } }
    }
}

/// What a reason's text depends on; pairs with the same key share one string (the matrix
/// has hundreds of thousands of pairs but few distinct reasons).
struct ReasonKey: Hashable {
    var common: BDF?
    var acs: [BDF]
    var unknown: [BDF]
    var rule: HostBridgeRule?
}

final class ReasonCache: @unchecked Sendable {
    private var texts: [ReasonKey: (String, Int)] = [:]
    private(set) var lastID = -1
    /// Past this many distinct reasons (a machine whose paths all differ) texts are made per
    /// pair instead of kept: memory stays bounded however many pairs are asked for.
    static let capacity = 8192
    func text(_ key: ReasonKey, _ make: () -> String) -> String {
        if let t = texts[key] { lastID = t.1; return t.0 }
        let t = make()
        guard texts.count < Self.capacity else { lastID = -1; return t }
        texts[key] = (t, texts.count)
        lastID = texts.count - 1
        return t
    }
}

extension Topology {
    public struct RootBus: Hashable, Sendable { public var domain: UInt32; public var bus: UInt8 }
}
