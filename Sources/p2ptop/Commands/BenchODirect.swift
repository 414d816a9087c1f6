import ArgumentParser
import P2PEngine
import PCISources
import PCITopology

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `p2ptop bench odirect --file F`: O_DIRECT read throughput against `dd iflag=direct` with the
/// same block size on the same file, alternating, in the same run.
struct BenchODirect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "odirect", abstract: "O_DIRECT read rate vs dd iflag=direct (same file, same block size, alternating).")

    @Option(help: "The file to read (on a filesystem with O_DIRECT).")
    var file: String

    @Option(help: "Bytes to read.")
    var size: String = "256M"

    @Option(help: "Block size.")
    var block: String = "1M"

    @Option(name: .customLong("queue-depth"), help: "p2ptop's I/Os in flight (dd has one).")
    var queueDepth: Int = 1

    @Option(help: "Runs of each.")
    var runs: Int = 5

    @Flag(help: "Print JSON (schema p2ptop.bench/1).")
    var json = false

    func run() throws {
        guard let bytes = ByteSize.parse(size), let bs = ByteSize.parse(block) else { throw CommandError(message: "bad --size or --block") }
        var ours = 0.0, theirs = 0.0
        for _ in 0..<max(1, runs) {
            let r = ODirect.read(path: file, into: .host, size: bytes, block: bs, queueDepth: queueDepth)
            if let e = r.error { throw CommandError(message: "bench: \(e)", code: 1) }
            ours = max(ours, r.gbps)
            theirs = max(theirs, try ddRate(bytes: bytes, block: bs))
        }
        if json {
            emit(JSON.object([("schema", .string("p2ptop.bench/1")), ("bench", .string("odirect")),
                              ("results", .array([.object([("name", .string("odirect_vs_dd")), ("value", .double(ours)), ("unit", .string("GB/s")),
                                                           ("baseline", .double(theirs)), ("ratio", .double(ours / theirs))])]))]).serialized(pretty: true))
        } else {
            emit("O_DIRECT read \(size) in \(block) blocks, qd \(queueDepth): p2ptop \(format2(ours)) GB/s, dd iflag=direct \(format2(theirs)) GB/s, ratio \(format2(ours / theirs)) (best of \(runs) each, alternating)")
        }
    }

    /// Runs dd and reads its own timing from its stderr summary line.
    func ddRate(bytes: Int, block: Int) throws -> Double {
        let log = "/tmp/p2ptop-dd-\(getpid()).log"
        defer { unlink(log) }
        let cmd = "dd if='\(file)' of=/dev/null bs=\(block) count=\(bytes / block) iflag=direct 2> '\(log)'"
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
