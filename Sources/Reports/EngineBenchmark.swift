import LinuxFiles
import P2PDMA
import P2PEngine
import PCISources
import PCITopology
import RealBackends
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// One measured figure beside the baseline measured in the same run (nil: none).
public struct Measurement: Sendable {
    public var name: String
    public var value: Double
    public var unit: String
    public var baseline: Double?
    public init(_ name: String, _ value: Double, _ unit: String, baseline: Double? = nil) {
        self.name = name; self.value = value; self.unit = unit; self.baseline = baseline
    }
    public var ratio: Double? { baseline.map { value / $0 } }
}

/// `p2ptop bench engine`'s answer, measured on the default demo fabric on this machine's own
/// clock: the engine's unthrottled O_DIRECT copy against memcpy of the same bytes through the
/// same window (alternating, best of each), pin+unpin rates of p2pmem and host pages, and the
/// resident memory over 100 back-to-back transfers.
public struct EngineBenchmark: Sendable {
    public var measurements: [Measurement]
    public var runs: Int

    public struct Failure: Error, Sendable { public var message: String }

    public static func measure(bytes: Int, runs: Int) throws(Failure) -> EngineBenchmark {
        do {
            let t = try DemoFabrics.load(DemoFabrics.defaultName)
            let analyzer = P2PAnalyzer(topology: t, kernel: t.host.kernelRelease.flatMap(KernelVersion.init(parsing:)) ?? .latest, cpu: CPUInfo(vendor: "intel", family: 6))
            let nvme0 = try t.resolve("nvme0").bdf, nvme1 = try t.resolve("nvme1").bdf
            var out: [Measurement] = []
            var engineBest = 0.0, memcpyBest = 0.0
            for _ in 0..<max(1, runs) {
                let r = TransferRunner(engine: try Engine(topology: t, analyzer: analyzer), clock: WallClock())
                    .run(TransferRequest(from: nvme0, to: nvme1, size: bytes, block: 1 << 20, queueDepth: 4, method: .odirect, unthrottled: true))
                guard r.ok, r.verified else { throw Failure(message: "engine transfer failed: \(String(describing: r.error))") }
                engineBest = max(engineBest, r.gbps)
                memcpyBest = max(memcpyBest, try memcpyRate(bytes: bytes, window: min(bytes, 256 << 20), block: 1 << 20))
            }
            out.append(Measurement("copy_vs_memcpy", engineBest, "GB/s", baseline: memcpyBest))
            let engine = try Engine(topology: t, analyzer: analyzer)
            let vma = try engine.mmapP2PMem(nvme1, length: 64 << 20), host = try engine.mmapHost(length: 64 << 20)
            out.append(Measurement("pin_unpin", try pinRate(engine, vma, [.PIN, .PCI_P2PDMA, .WRITE]), "pages/s"))
            out.append(Measurement("pin_unpin_host_memory", try pinRate(engine, host, [.PIN, .WRITE]), "pages/s"))
            engine.munmap(vma); engine.munmap(host)
            let before = FileIO.residentKB()
            for _ in 0..<100 {
                let r = TransferRunner(engine: try Engine(topology: t, analyzer: analyzer), clock: WallClock())
                    .run(TransferRequest(from: nvme0, to: nvme1, size: 16 << 20, method: .odirect, unthrottled: true))
                guard r.ok, r.leaks?.isEmpty == true else { throw Failure(message: "a transfer leaked or failed") }
            }
            out.append(Measurement("rss_growth_100_transfers", Double(FileIO.residentKB() - before), "KiB"))
            return EngineBenchmark(measurements: out, runs: runs)
        } catch let e as Failure { throw e } catch { throw Failure(message: "\(error)") }
    }

    /// Pins and unpins 256 pages per call for half a second.
    static func pinRate(_ engine: Engine, _ v: VMA, _ flags: FOLL) throws -> Double {
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

    /// Plain memcpy of `bytes` in `block` pieces from one prefaulted window to another (fresh
    /// buffers each time, like the engine's).
    static func memcpyRate(bytes: Int, window: Int, block: Int) throws -> Double {
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
