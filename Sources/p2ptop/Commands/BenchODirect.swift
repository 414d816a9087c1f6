import ArgumentParser
import LinuxFiles
import P2PEngine
import RealBackends
import PCISources
import PCITopology

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `p2ptop bench odirect --file F`: O_DIRECT read throughput against `dd iflag=direct` with the
/// same block size on the same file, alternating, in the same run.
struct BenchODirect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "odirect", abstract: "O_DIRECT read rate vs dd iflag=direct (same file, same block size, alternating).", discussion: "Examples:\n  p2ptop bench odirect --file /var/tmp/big.bin")

    @Option(help: "The file to read (on a filesystem with O_DIRECT).")
    var file: String

    @Option(help: "Bytes to read (default: 256M, or the whole file in whole blocks when it is smaller).")
    var size: String?

    @Option(help: "Block size.")
    var block: String = "1M"

    @Option(name: .customLong("queue-depth"), help: "p2ptop's I/Os in flight (dd has one).")
    var queueDepth: Int = 1

    @Option(help: "Runs of each.")
    var runs: Int = 5

    @Flag(help: "Print JSON (schema p2ptop.bench/1).")
    var json = false

    /// The ways of reading: into a block-sized slot per I/O in flight, reused (what dd does
    /// with its one buffer), for each way of keeping the queue; and into memory the size of the
    /// whole read (what `transfer` does). On a VM the last pays for streaming into cold memory.
    static let kinds: [(name: String, label: String, queue: ODirect.Queue, reused: Bool)] = [
        ("threads", "reused buffer, threads", .threads, true), ("io_uring", "reused buffer, io_uring", .ioUring, true),
        ("io_uring-fixed", "reused buffer, io_uring-fixed", .ioUringFixed, true), ("threads_whole_range", "whole range, threads", .threads, false)]

    struct Row { var best = 0.0, pins = 0, unavailable: String? }

    func run() throws {
        let (rows, theirs, bytes) = try measure()
        if json {
            let results: [JSON] = zip(Self.kinds, rows).map { k, r in
                .object([("name", .string("odirect_\(k.name)_vs_dd")), ("value", r.unavailable == nil ? .double(r.best) : .null),
                         ("unit", .string("GB/s")), ("baseline", .double(theirs)),
                         ("ratio", r.unavailable == nil ? .double(r.best / theirs) : .null), ("pins_per_pass", .int(Int64(r.pins))),
                         ("unavailable", r.unavailable.map(JSON.string) ?? .null)])
            }
            emit(JSON.object([("schema", .string("p2ptop.bench/1")), ("bench", .string("odirect")), ("results", .array(results))]).serialized(pretty: true))
        } else {
            var lines = ["O_DIRECT read \(ByteSize.text(UInt64(bytes))) in \(block) blocks, qd \(queueDepth), best of \(runs) each, alternating with dd iflag=direct (\(format2(theirs)) GB/s):"]
            for (k, r) in zip(Self.kinds, rows) {
                let label = k.label.padding(32)
                lines.append(r.unavailable.map { "  \(label) unavailable: \($0)" } ?? "  \(label) p2ptop \(format2(r.best)) GB/s   ratio \(format2(r.best / theirs))   \(r.pins) pins per pass")
            }
            emit(lines.joined(separator: "\n"))
        }
    }

    /// `--size`, or 256M cut to the file's length in whole blocks; a size past the file's end
    /// is refused, naming the file's length.
    func readSize(block: Int) throws -> Int? {
        var st = stat()
        let length = stat(file, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? Int(st.st_size) : nil
        guard let size else {
            guard let length else { return 256 << 20 }
            let whole = min(256 << 20, length) / block * block
            if whole == 0 { throw CommandError(message: "bench: \(file) holds \(ByteSize.text(UInt64(length))), less than one \(block)-byte block") }
            return whole
        }
        guard let bytes = ByteSize.parse(size) else { return nil }
        if let length, bytes > length {
            throw CommandError(message: "bench: --size \(size) is past the end of \(file), which holds \(ByteSize.text(UInt64(length)))")
        }
        return bytes
    }

    /// Each way's best rate and pins per pass, alternating with dd's best.
    func measure() throws -> ([Row], Double, Int) {
        guard let bs = ByteSize.parse(block), bs > 0, let bytes = try readSize(block: bs) else { throw CommandError(message: "bad --size or --block") }
        var rows = [Row](repeating: Row(), count: Self.kinds.count)
        var theirs = 0.0
        for _ in 0..<max(1, runs) {
            for (i, k) in Self.kinds.enumerated() where rows[i].unavailable == nil {
                let r = ODirect.read(path: file, into: .host, size: bytes, block: bs, queueDepth: queueDepth, ring: k.reused, queue: k.queue)
                if let e = r.error {
                    if k.queue == .threads { throw CommandError(message: "bench: \(e)", code: 1) }
                    rows[i].unavailable = e.message   // io_uring may be disabled here: say so, go on
                    continue
                }
                rows[i].best = max(rows[i].best, r.gbps)
                rows[i].pins = r.pinsAcquired
            }
            theirs = max(theirs, try ddRate(bytes: bytes, block: bs))
        }
        return (rows, theirs, bytes)
    }

    /// Runs dd and reads its own timing from its stderr summary line.
    func ddRate(bytes: Int, block: Int) throws -> Double {
        guard case .success(let scratch) = FileIO.makePrivateDirectory("p2ptop-dd") else { throw CommandError(message: "bench: cannot make a scratch directory", code: 1) }
        defer { FileIO.removeTree(scratch) }
        let log = scratch + "/dd.log"
        // The file's name is the user's: quoted for the shell whatever it holds (a ' included).
        func quoted(_ s: String) -> String { "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'" }
        let cmd = "dd if=\(quoted(file)) of=/dev/null bs=\(block) count=\(bytes / block) iflag=direct 2> \(quoted(log))"
        guard system(cmd) == 0, let text = readTextFile(log) else { throw CommandError(message: "bench: dd failed on \(file)", code: 1) }
        // "67108864 bytes (67 MB, 64 MiB) copied, 0.0316 s, 2.1 GB/s"
        guard let copied = text.split(separator: "\n").last(where: { $0.contains("copied") }),
              let secText = copied.split(separator: ",").dropFirst().first(where: { $0.hasSuffix(" s") }),
              let secs = Double(secText.split(separator: " ").first ?? "") , secs > 0 else {
            throw CommandError(message: "bench: cannot read dd's timing", code: 1)
        }
        return Double(bytes) / secs / 1e9
    }
}
