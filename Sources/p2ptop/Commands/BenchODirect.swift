import ArgumentParser
import LinuxFiles
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
        // Two p2ptop figures: into a block-sized slot per lane, reused (what dd does with its one
        // buffer), and into memory the size of the whole read (what `transfer` does). On a VM
        // the second pays for streaming into cold memory; on real NVMe the device dominates.
        var ring = 0.0, whole = 0.0, theirs = 0.0
        func rate(ring: Bool) throws -> Double {
            let r = ODirect.read(path: file, into: .host, size: bytes, block: bs, queueDepth: queueDepth, ring: ring)
            if let e = r.error { throw CommandError(message: "bench: \(e)", code: 1) }
            return r.gbps
        }
        for _ in 0..<max(1, runs) {
            ring = max(ring, try rate(ring: true))
            whole = max(whole, try rate(ring: false))
            theirs = max(theirs, try ddRate(bytes: bytes, block: bs))
        }
        if json {
            func result(_ name: String, _ v: Double) -> JSON {
                .object([("name", .string(name)), ("value", .double(v)), ("unit", .string("GB/s")), ("baseline", .double(theirs)), ("ratio", .double(v / theirs))])
            }
            emit(JSON.object([("schema", .string("p2ptop.bench/1")), ("bench", .string("odirect")),
                              ("results", .array([result("odirect_vs_dd", ring), result("odirect_whole_range_vs_dd", whole)]))]).serialized(pretty: true))
        } else {
            emit("O_DIRECT read \(size) in \(block) blocks, qd \(queueDepth), best of \(runs) each, alternating with dd iflag=direct (\(format2(theirs)) GB/s):")
            emit("  reused block buffer, as dd   p2ptop \(format2(ring)) GB/s   ratio \(format2(ring / theirs))")
            emit("  whole range in memory        p2ptop \(format2(whole)) GB/s   ratio \(format2(whole / theirs))")
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
