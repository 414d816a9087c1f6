import LinuxFiles
import ArgumentParser
import P2PDMA
import P2PEngine
import RealBackends
import PCISources
import PCITopology

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `p2ptop bench engine`: the engine against plain memcpy, pin/unpin rates, memory over
/// back-to-back transfers — all measured in the same run.
struct BenchEngine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine", abstract: "Engine copy rate vs memcpy, pin+unpin rate, memory over 100 transfers (default fabric).", discussion: "Examples:\n  p2ptop bench engine --size 256M")

    @Option(help: ArgumentHelp("Bytes per copy measurement.", valueName: "size"))
    var size: String = "512M"

    @Option(help: "Repetitions (best is reported, as for memcpy).")
    var runs: Int = 5

    @Flag(help: "Print JSON (schema p2ptop.bench/1).")
    var json = false

    func run() throws {
        guard let bytes = ByteSize.parse(size), bytes >= 1 << 20 else { throw CommandError(message: "--size: expected at least 1M") }
        let t = try DemoFabrics.load(DemoFabrics.defaultName)
        let analyzer = P2PAnalyzer(topology: t, kernel: KernelVersion(parsing: t.host.kernelRelease!)!, cpu: CPUInfo(vendor: "intel", family: 6))
        let nvme0 = try t.resolve("nvme0").bdf, nvme1 = try t.resolve("nvme1").bdf
        var results: [(String, Double, String, Double?)] = []

        // 1. Engine O_DIRECT (unthrottled) vs memcpy of the same bytes through the same window,
        //    alternating so that both see the same machine; best of each.
        var engineBest = 0.0, memcpyBest = 0.0
        let window = min(bytes, 256 << 20)
        for _ in 0..<runs {
            let engine = try makeEngine(t, analyzer)
            let r = TransferRunner(engine: engine, clock: WallClock()).run(TransferRequest(from: nvme0, to: nvme1, size: bytes, block: 1 << 20, queueDepth: 4, method: .odirect, unthrottled: true))
            guard r.ok, r.verified else { throw CommandError(message: "bench: engine transfer failed: \(String(describing: r.error))", code: 1) }
            engineBest = max(engineBest, r.gbps)
            memcpyBest = max(memcpyBest, try memcpyRate(bytes: bytes, window: window, block: 1 << 20))
        }
        results.append(("copy_vs_memcpy", engineBest, "GB/s", memcpyBest))

        // 2. pin + unpin of p2pmem pages with FOLL_PIN|FOLL_PCI_P2PDMA, 256 pages per call.
        let engine = try makeEngine(t, analyzer)
        let vma = try engine.mmapP2PMem(nvme1, length: 64 << 20)
        let host = try engine.mmapHost(length: 64 << 20)
        func pinRate(_ v: VMA, _ flags: FOLL) throws -> Double {
            let pages = v.length / PAGE_SIZE
            let start = Monotonic.seconds()
            var n = 0
            while Monotonic.seconds() - start < 0.5 {
                var p = 0
                while p < pages {
                    let got = try engine.getUserPages(v.start + UInt64(p * PAGE_SIZE), pages: 256, flags: flags)
                    engine.putUserPages(got)
                    p += 256; n += got.count
                }
            }
            return Double(n) / (Monotonic.seconds() - start)
        }
        let p2pRate = try pinRate(vma, [.PIN, .PCI_P2PDMA, .WRITE])
        let hostRate = try pinRate(host, [.PIN, .WRITE])
        engine.munmap(vma); engine.munmap(host)
        results.append(("pin_unpin", p2pRate, "pages/s", nil))
        results.append(("pin_unpin_host_memory", hostRate, "pages/s", nil))

        // 3. Memory over 100 back-to-back transfers.
        let before = Bench.residentKB()
        for _ in 0..<100 {
            let e = try makeEngine(t, analyzer)
            let r = TransferRunner(engine: e, clock: WallClock()).run(TransferRequest(from: nvme0, to: nvme1, size: 16 << 20, method: .odirect, unthrottled: true))
            guard r.ok, r.leaks?.isEmpty == true else { throw CommandError(message: "bench: transfer leaked or failed", code: 1) }
        }
        let after = Bench.residentKB()
        results.append(("rss_growth_100_transfers", Double(after - before), "KiB", nil))

        if json {
            emit(JSON.object([("schema", .string("p2ptop.bench/1")), ("bench", .string("engine")),
                              ("results", .array(results.map { name, value, unit, baseline in
                                  .object([("name", .string(name)), ("value", .double(value)), ("unit", .string(unit)),
                                           ("baseline", baseline.map(JSON.double) ?? .null),
                                           ("ratio", baseline.map { .double(value / $0) } ?? .null)])
                              }))]).serialized(pretty: true))
        } else {
            for (name, value, unit, baseline) in results {
                var line = name.padding(26) + format2(value) + " " + unit
                if let b = baseline { line += "   baseline \(format2(b)) \(unit)   ratio \(format2(value / b))" }
                emit(line)
            }
            emit("baseline: memcpy of the same bytes through the same window, alternating with the engine (best of \(runs) each)")
        }
    }

    func makeEngine(_ t: Topology, _ a: P2PAnalyzer) throws -> Engine {
        do { return try Engine(topology: t, analyzer: a) } catch { throw CommandError(message: "engine: \(error)", code: 1) }
    }

    /// Plain memcpy of `bytes` in `block` pieces from one prefaulted window to another (fresh
    /// buffers each time, like the engine's).
    func memcpyRate(bytes: Int, window: Int, block: Int) throws -> Double {
        let src = try BackingMemory(length: window), dst = try BackingMemory(length: window)
        memset(src.base, 0x5a, window); memset(dst.base, 0, window)
        let start = Monotonic.seconds()
        var done = 0
        while done < bytes {
            let off = done % window
            let n = min(block, window - off, bytes - done)
            memcpy(dst.base + off, src.base + off, n)
            done += n
        }
        return Double(bytes) / (Monotonic.seconds() - start) / 1e9
    }
}
