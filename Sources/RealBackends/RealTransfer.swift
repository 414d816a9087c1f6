import LinuxFiles
import P2PEngine
import PCITopology
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A transfer on this machine's own devices, as the command line names its ends: an O_DIRECT
/// read of `file:PATH` or `block:DEV` into memory, an O_DIRECT write of memory into a new
/// `file:PATH`, or an RDMA WRITE looped back through `rdma[:DEV[:PORT]]`. The memory side is
/// `host`, `p2pmem:DEVICE` or `dmabuf:HEAP`.
public enum RealTransfer {
    public enum Memory: Sendable, Equatable {
        case host
        /// The provider as the user named it (an alias or BDF, resolved against the machine).
        case p2pmem(String)
        case dmabuf(heap: String)
    }

    public enum Plan: Sendable, Equatable {
        case read(path: String, into: Memory)
        case write(from: Memory, newFile: String)
        case rdma(device: String?, port: Int?, into: Memory)

        /// The memory side's provider, when it is a p2pmem mapping.
        public var provider: String? {
            switch self {
            case .read(_, .p2pmem(let p)), .write(.p2pmem(let p), _), .rdma(_, _, .p2pmem(let p)): return p
            default: return nil
            }
        }
        public var method: TransferMethod { if case .rdma = self { return .rdma }; return .odirect }
    }

    public struct PlanError: Error, Sendable { public var message: String }

    static func isFile(_ s: String) -> Bool { s.hasPrefix("file:") || s.hasPrefix("block:") }
    static func isRDMA(_ s: String) -> Bool { s == "rdma" || s.hasPrefix("rdma:") }
    static func path(_ s: String) -> String { String(s.drop { $0 != ":" }.dropFirst()) }

    /// The plan for `from` → `to` via `method`; nil when neither end is a real one (a
    /// modelled transfer). Every refusal is one line naming the flag.
    public static func plan(from: String, to: String, via method: TransferMethod) throws(PlanError) -> Plan? {
        if isFile(from) || isFile(to) {
            guard method == .odirect else { throw PlanError(message: "--from/--to file:/block: move bytes with --via odirect; a real RDMA write is --from rdma[:DEV[:PORT]] --via rdma") }
            if to.hasPrefix("block:") { throw PlanError(message: "--to \(to): p2ptop never writes to a block device; write to --to file:NEWFILE") }
            if to.hasPrefix("file:") {
                if isFile(from) { throw PlanError(message: "file to file is a copy, not a DMA into memory: use --from host|p2pmem:DEVICE --to file:NEWFILE, or --from file:PATH --to host|p2pmem:DEVICE") }
                if FileIO.exists(path(to)) { throw PlanError(message: "--to \(to): the file exists; p2ptop writes only to a new file (nothing is overwritten)") }
                return .write(from: try memory(from, "--from"), newFile: path(to))
            }
            return .read(path: path(from), into: try memory(to, "--to"))
        }
        guard isRDMA(from) else { return nil }
        guard method == .rdma else { throw PlanError(message: "--from \(from) is an RDMA port: use --via rdma") }
        let parts = from.split(separator: ":", omittingEmptySubsequences: false).dropFirst().map(String.init)
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }) else { throw PlanError(message: "--from \(from): expected rdma, rdma:DEVICE or rdma:DEVICE:PORT") }
        var port: Int?
        if parts.count == 2 {
            guard let p = Int(parts[1]), p >= 1 else { throw PlanError(message: "--from \(from): the port must be a number from 1") }
            port = p
        }
        return .rdma(device: parts.first, port: port, into: try memory(to, "--to"))
    }

    static func memory(_ s: String, _ flag: String) throws(PlanError) -> Memory {
        if s == "host" { return .host }
        if s.hasPrefix("p2pmem:"), s.count > 7 { return .p2pmem(String(s.dropFirst(7))) }
        if s.hasPrefix("dmabuf:"), s.count > 7 { return .dmabuf(heap: String(s.dropFirst(7))) }
        throw PlanError(message: "\(flag) \(s): expected host, p2pmem:DEVICE or dmabuf:HEAP (e.g. dmabuf:system)")
    }

    /// How the transfer runs: sizes, queue, the GID entry for RoCE, and whether the pin counts
    /// are made exact first (`vm/stat_refresh`, root).
    public struct Options: Sendable {
        public var size: Int, block: Int, queueDepth: Int
        public var queue: ODirect.Queue
        public var gidIndex: Int?
        public var exactPins: Bool
        public init(size: Int, block: Int, queueDepth: Int, queue: ODirect.Queue, gidIndex: Int?, exactPins: Bool) {
            self.size = size; self.block = block; self.queueDepth = queueDepth; self.queue = queue; self.gidIndex = gidIndex; self.exactPins = exactPins
        }
    }

    /// Runs the plan; `provider` is the p2pmem side's BDF, resolved by the caller. Returns the
    /// outcome and the kernel's p2pdma lines logged meanwhile (root: /dev/kmsg).
    public static func perform(_ plan: Plan, provider: BDF?, _ o: Options) -> (TransferOutcome, kernelSaid: [String]) {
        func kind(_ m: Memory) -> RealBuffer.Kind {
            switch m {
            case .host: return .host
            case .p2pmem: return .p2pmem(provider?.description ?? "")
            case .dmabuf(let heap): return .dmabuf(heap: heap)
            }
        }
        let log = KernelLog()
        let outcome: TransferOutcome
        switch plan {
        case .read(let path, let memory):
            outcome = ODirect.read(path: path, into: kind(memory), size: o.size, block: o.block, queueDepth: o.queueDepth, queue: o.queue, exactPins: o.exactPins)
        case .write(let memory, let file):
            outcome = ODirect.write(from: kind(memory), toNewFile: file, size: o.size, block: o.block, queueDepth: o.queueDepth, queue: o.queue, exactPins: o.exactPins)
        case .rdma(let device, let port, let memory):
            outcome = VerbsLoopback.run(.init(device: device, port: port, gidIndex: o.gidIndex, target: kind(memory), size: o.size, block: o.block),
                                        inventory: VerbsRDMASource().inventory())
        }
        let said = (log?.drain() ?? []).filter { $0.contains("peer-to-peer") || $0.contains("ACS redirect") }
        return (outcome, said)
    }

    /// The running kernel's release (`uname -r`).
    public static func runningKernel() -> String? {
        var u = utsname()
        guard uname(&u) == 0 else { return nil }
        return withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
