import LinuxFiles
import ArgumentParser
import P2PDMA
import P2PEngine
import RealBackends
import PCISources
import PCITopology
import Reports

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `p2ptop bench engine`: the engine against plain memcpy, pin/unpin rates, memory over
/// back-to-back transfers — all measured in the same run.
struct BenchEngine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine", abstract: "Engine copy rate vs memcpy, pin+unpin rate, memory over 100 transfers (default fabric).", discussion: "Examples:\n  p2ptop bench engine --size 256M")

    @Option(help: ArgumentHelp("Bytes per copy measurement (at least 1M; default 512M).", valueName: "size"), transform: OptionValue.size("--size"))
    var size = ByteCount(512 << 20)

    @Option(help: "Repetitions (best is reported, as for memcpy).")
    var runs: Int = 5

    @Flag(help: "Print JSON (schema p2ptop.bench/1).")
    var json = false

    func validate() throws {
        guard size.bytes >= 1 << 20 else { throw ValidationError("--size \(size): expected at least 1M") }
    }

    func run() throws {
        let b: EngineBenchmark
        do { b = try EngineBenchmark.measure(bytes: size.bytes, runs: runs) } catch { throw CommandError(message: "bench: \(error.message)", code: 1) }
        emit(json ? BenchOutput.json("engine", b.measurements).serialized(pretty: true)
                  : BenchOutput.text(b.measurements) + "\nbaseline: memcpy of the same bytes through the same window, alternating with the engine (best of \(runs) each)")
    }
}
