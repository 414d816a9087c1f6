import PCISources
import PCITopology

/// Memory a lab experiment lands in: host memory, a provider's p2pmem, a DMA-BUF heap buffer.
public enum LabMemory: Equatable, Sendable, CustomStringConvertible {
    case host, p2pmem(BDF), dmabuf(String)

    public var description: String {
        switch self {
        case .host: "host"
        case .p2pmem(let b): "p2pmem:\(b)"
        case .dmabuf(let h): "dmabuf:\(h)"
        }
    }

    public init?(_ text: String) {
        if text == "host" { self = .host; return }
        if text.hasPrefix("p2pmem:"), let b = BDF(String(text.dropFirst(7))) { self = .p2pmem(b); return }
        if text.hasPrefix("dmabuf:"), text.count > 7 { self = .dmabuf(String(text.dropFirst(7))); return }
        return nil
    }
}

/// One experiment: what runs in the guest, and what the model is asked to predict. The guest
/// writes each step beside what it observed, so the host predicts exactly what ran.
public struct LabStep: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// An O_DIRECT read from a drive into a provider's p2pmem: does the kernel map it?
        case verdict
        /// The kernel's reason line for a pair (dmesg), against p2ptop's reason.
        case reason
        /// An O_DIRECT read whose FOLL_PIN count is compared with the engine's.
        case pins
        /// A p2pmem/allocate mmap the kernel must refuse (MAP_PRIVATE, offset, too large).
        case p2pmemRule = "p2pmem-rule"
        /// p2pmem/available falling by a mapping and recovering after munmap.
        case available
        /// ibv_reg_mr (writable or read-only) of host memory or p2pmem.
        case rdmaRegister = "rdma-register"
        /// ibv_reg_dmabuf_mr of a DMA-BUF heap buffer.
        case rdmaDmabuf = "rdma-dmabuf"
        /// A loopback RDMA WRITE into host memory, verified.
        case rdmaWrite = "rdma-write"
        /// Unbinding a provider while a process holds a p2pmem mapping.
        case unbind
        /// MMIO reads of a driverless BAR through resourceN.
        case barRead = "bar-read"
        /// The save/pattern/restore write test on it.
        case barWrite = "bar-write"
        /// p2ptop's rules for a BAR a driver owns.
        case barPolicy = "bar-policy"
    }

    public var kind: Kind
    public var name: String
    /// The drive that reads (verdict, pins), the device whose BAR or binding is used.
    public var device: BDF?
    public var memory: LabMemory?
    public var size = 0
    public var block = 1 << 20
    public var queueDepth = 1
    public var queue = "threads"
    /// p2pmem-rule: MAP_PRIVATE, offset or beyond; rdma-register: write or read.
    public var variant = ""
    public var bar: Int?
    /// The reading drive's `queue/max_sectors_kb` × 1024, read in the guest before the step:
    /// an input of the prediction (io_uring's nowait attempt cannot split), like the block size.
    public var queueLimit: Int?

    public init(_ kind: Kind, _ name: String, device: BDF? = nil, memory: LabMemory? = nil) {
        self.kind = kind; self.name = name; self.device = device; self.memory = memory
    }

    var json: JSON {
        .object([("kind", .string(kind.rawValue)), ("name", .string(name)), ("device", device.map { .string($0.description) } ?? .null),
                 ("memory", memory.map { .string($0.description) } ?? .null), ("size", .int(Int64(size))), ("block", .int(Int64(block))),
                 ("queue_depth", .int(Int64(queueDepth))), ("queue", .string(queue)), ("variant", .string(variant)),
                 ("bar", bar.map { .int(Int64($0)) } ?? .null), ("queue_limit", queueLimit.map { .int(Int64($0)) } ?? .null)])
    }

    init(json j: JSON) throws(LabError) {
        guard let k = j["kind"]?.stringValue.flatMap(Kind.init(rawValue:)), let n = j["name"]?.stringValue else {
            throw LabError("observed.json: a step without a known kind or name")
        }
        kind = k; name = n
        device = j["device"]?.stringValue.flatMap { BDF($0) }
        memory = j["memory"]?.stringValue.flatMap(LabMemory.init)
        size = Int(j["size"]?.int64Value ?? 0)
        block = Int(j["block"]?.int64Value ?? 0)
        queueDepth = Int(j["queue_depth"]?.int64Value ?? 1)
        queue = j["queue"]?.stringValue ?? "threads"
        variant = j["variant"]?.stringValue ?? ""
        bar = j["bar"]?.int64Value.map { Int($0) }
        queueLimit = j["queue_limit"]?.int64Value.map { Int($0) }
    }
}

/// What the guest saw for one step.
public struct LabObservation: Sendable {
    public var step: LabStep
    /// "ok", an errno name, a number, "SIGBUS", "skipped: why".
    public var observed: String
    public var verified: Bool?
    public var pinsAcquired: Int?
    public var pinsReleased: Int?
    public var vmPinKB: Int?
    public var gbps: Double?
    public var seconds: Double?
    /// Kernel log lines the step caused (/dev/kmsg).
    public var kernelLog: [String] = []
    public var detail = ""

    public init(step: LabStep, observed: String) { self.step = step; self.observed = observed }

    var json: JSON {
        func opt(_ v: Int?) -> JSON { v.map { .int(Int64($0)) } ?? .null }
        return .object([("step", step.json), ("observed", .string(observed)), ("verified", verified.map(JSON.bool) ?? .null),
                        ("pins_acquired", opt(pinsAcquired)), ("pins_released", opt(pinsReleased)), ("vmpin_kb", opt(vmPinKB)),
                        ("gb_per_s", gbps.map(JSON.double) ?? .null), ("seconds", seconds.map(JSON.double) ?? .null),
                        ("kernel_log", .array(kernelLog.map(JSON.string))), ("detail", .string(detail))])
    }

    init(json j: JSON) throws(LabError) {
        guard let s = j["step"], let o = j["observed"]?.stringValue else { throw LabError("observed.json: an observation without step or observed") }
        step = try LabStep(json: s)
        observed = o
        verified = j["verified"]?.boolValue
        pinsAcquired = j["pins_acquired"]?.int64Value.map { Int($0) }
        pinsReleased = j["pins_released"]?.int64Value.map { Int($0) }
        vmPinKB = j["vmpin_kb"]?.int64Value.map { Int($0) }
        gbps = (j["gb_per_s"] ?? j["gbps"])?.doubleValue
        seconds = j["seconds"]?.doubleValue
        kernelLog = j["kernel_log"]?.arrayValue?.compactMap(\.stringValue) ?? []
        detail = j["detail"]?.stringValue ?? ""
    }
}

/// The guest's whole report: the kernel, which drive is which, and every observation.
public struct LabReport: Sendable {
    public static let schema = "p2ptop.lab-observed/1"
    public var kernel: String
    /// label → (function, block device)
    public var drives: [(label: String, bdf: BDF, block: String)]
    public var observations: [LabObservation]

    public init(kernel: String, drives: [(label: String, bdf: BDF, block: String)], observations: [LabObservation]) {
        self.kernel = kernel; self.drives = drives; self.observations = observations
    }

    public var json: JSON {
        .object([("schema", .string(Self.schema)), ("kernel", .string(kernel)),
                 ("drives", .array(drives.map { .object([("label", .string($0.label)), ("bdf", .string($0.bdf.description)), ("block", .string($0.block))]) })),
                 ("observations", .array(observations.map(\.json)))])
    }

    public static func decode(_ bytes: [UInt8], file: String) throws(LabError) -> LabReport {
        let j: JSON
        do { j = try JSON.parse(bytes) } catch { throw LabError("\(file):\(error.line): \(error.message)") }
        guard j["schema"]?.stringValue == schema else { throw LabError("\(file): expected schema \(schema)") }
        var drives: [(String, BDF, String)] = []
        for d in j["drives"]?.arrayValue ?? [] {
            guard let l = d["label"]?.stringValue, let s = d["bdf"]?.stringValue, let b = BDF(s) else { continue }
            drives.append((l, b, d["block"]?.stringValue ?? ""))
        }
        var obs: [LabObservation] = []
        for o in j["observations"]?.arrayValue ?? [] { obs.append(try LabObservation(json: o)) }
        return LabReport(kernel: j["kernel"]?.stringValue ?? "", drives: drives, observations: obs)
    }
}

/// The experiments for a booted fabric, from what the guest found: its drives, its published
/// p2pmem providers, its driverless BARs and whether soft-RoCE came up.
public enum LabPlan {
    public struct Inventory: Sendable {
        public var drives: [(label: String, bdf: BDF, block: String)]
        public var providers: [BDF]
        /// Driverless devices with a 64-bit prefetchable memory BAR (ivshmem).
        public var openBARs: [(BDF, Int)]
        public var rdma: Bool
        public var dmabufHeap: Bool
        /// Labels of drives whose reads QEMU throttles (from the fabric, told to the guest).
        public var slow: [String]
        public init(drives: [(label: String, bdf: BDF, block: String)], providers: [BDF], openBARs: [(BDF, Int)], rdma: Bool, dmabufHeap: Bool,
                    slow: [String] = []) {
            self.drives = drives; self.providers = providers; self.openBARs = openBARs; self.rdma = rdma; self.dmabufHeap = dmabufHeap
            self.slow = slow
        }
    }

    static let transferSize = 4 << 20

    public static func steps(for inv: Inventory) -> [LabStep] {
        var steps: [LabStep] = []
        func label(_ b: BDF) -> String { inv.drives.first { $0.bdf == b }?.label ?? b.description }
        // Every drive into every other function's p2pmem: the kernel's verdict, and its reason.
        for p in inv.providers {
            for d in inv.drives where d.bdf != p {
                var s = LabStep(.verdict, "\(d.label) → p2pmem \(label(p))", device: d.bdf, memory: .p2pmem(p))
                s.size = transferSize; s.block = 1 << 20; s.queueDepth = 4
                steps.append(s)
                var r = s
                r.kind = .reason
                steps.append(r)
            }
        }
        // Pins: the same reads into host memory and into p2pmem, with each way of queueing.
        if let reader = inv.drives.first(where: { !inv.providers.contains($0.bdf) }) {
            typealias Shape = (LabMemory, Int, Int, String)
            var shapes: [Shape] = [(.host, 1 << 20, 1, "threads"), (.host, 256 << 10, 4, "threads"), (.host, 1 << 20, 4, "io_uring"),
                                   (.host, 256 << 10, 4, "io_uring"), (.host, 1 << 20, 4, "io_uring-fixed")]
            if let p = inv.providers.first {
                let m = LabMemory.p2pmem(p)
                shapes += [(m, 1 << 20, 4, "threads"), (m, 1 << 20, 2, "io_uring"), (m, 1 << 20, 4, "io_uring-fixed")]
            }
            for (memory, block, qd, queue) in shapes {
                let where_ = memory == .host ? "host" : "p2pmem \(label(memory.p2pmemDevice!))"
                var s = LabStep(.pins, "\(reader.label) → \(where_), \(queue) qd\(qd) \(block >> 10)K", device: reader.bdf, memory: memory)
                s.size = transferSize; s.block = block; s.queueDepth = qd; s.queue = queue
                steps.append(s)
            }
        }
        if let p = inv.providers.first {
            for rule in ["MAP_PRIVATE", "offset", "beyond"] {
                var s = LabStep(.p2pmemRule, "p2pmem \(label(p)) mmap \(rule)", device: p, memory: .p2pmem(p))
                s.variant = rule
                steps.append(s)
            }
            var a = LabStep(.available, "p2pmem \(label(p)) available − 2M + 2M", device: p, memory: .p2pmem(p))
            a.size = 2 << 20
            steps.append(a)
        }
        if inv.rdma {
            var targets: [(LabMemory, String)] = [(.host, "write")]
            if let p = inv.providers.first { targets += [(.p2pmem(p), "write"), (.p2pmem(p), "read")] }
            for (m, access) in targets {
                let what = m == .host ? "host" : "p2pmem \(label(m.p2pmemDevice!))"
                var s = LabStep(.rdmaRegister, "ibv_reg_mr \(what) (\(access == "write" ? "writable" : "read-only"))", memory: m)
                s.size = 2 << 20; s.variant = access
                steps.append(s)
            }
            if inv.dmabufHeap {
                var s = LabStep(.rdmaDmabuf, "ibv_reg_dmabuf_mr dma-buf heap system", memory: .dmabuf("system"))
                s.size = 2 << 20
                steps.append(s)
            }
            var w = LabStep(.rdmaWrite, "RDMA WRITE loopback → host", memory: .host)
            w.size = transferSize; w.block = 1 << 20
            steps.append(w)
        }
        for (b, bar) in inv.openBARs.prefix(1) {
            var r = LabStep(.barRead, "bar \(b.short) BAR\(bar) MMIO read", device: b)
            r.bar = bar; r.size = 16 << 20
            steps.append(r)
            var w = LabStep(.barWrite, "bar \(b.short) BAR\(bar) write round trip", device: b)
            w.bar = bar; w.size = 1 << 20
            steps.append(w)
        }
        if let d = inv.drives.first {
            var s = LabStep(.barPolicy, "bar \(d.label) BAR0 write (driver bound)", device: d.bdf)
            s.bar = 0; s.variant = "write"
            steps.append(s)
        }
        // Last: each takes a provider away. First one whose p2pmem a throttled drive's
        // O_DIRECT read holds pinned (another function of the same device: nvme4 → nvme3), then
        // one with a mapping only.
        var unbound: Set<BDF> = []
        if let slow = inv.drives.first(where: { inv.slow.contains($0.label) }),
           let p = inv.providers.last(where: { $0 != slow.bdf }) {
            var s = LabStep(.unbind, "unbind \(label(p)) under \(slow.label)'s O_DIRECT", device: slow.bdf, memory: .p2pmem(p))
            s.variant = "pinned"; s.size = 4 << 20; s.block = 4 << 20; s.queueDepth = 1
            steps.append(s)
            unbound.insert(p)
        }
        if let p = inv.providers.last(where: { !unbound.contains($0) }) {
            var s = LabStep(.unbind, "unbind \(label(p)) with p2pmem mapped", device: p, memory: .p2pmem(p))
            s.size = 2 << 20
            steps.append(s)
        }
        return steps
    }
}

extension LabStep.Kind {
    /// The experiment group a kind belongs to, as the README's kernel table counts them.
    public var group: String {
        switch self {
        case .verdict: "verdicts"
        case .reason: "reasons"
        case .pins: "pins"
        case .p2pmemRule, .available: "p2pmem"
        case .rdmaRegister, .rdmaDmabuf, .rdmaWrite: "rdma"
        case .barRead, .barWrite, .barPolicy: "bars"
        case .unbind: "lifetime"
        }
    }

    /// The groups in table order (topology first: the lspci comparison).
    public static let groups = ["topology", "acs", "verdicts", "reasons", "pins", "p2pmem", "rdma", "bars", "lifetime"]
}

extension LabMemory {
    var p2pmemDevice: BDF? { if case .p2pmem(let b) = self { return b }; return nil }
}
