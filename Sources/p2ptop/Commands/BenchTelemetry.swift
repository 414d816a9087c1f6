import ArgumentParser
import LinuxFiles
import PCISources
import PCITopology
import Reports
import Telemetry

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `p2ptop bench telemetry`: cost of one sampling tick over a generated tree of N devices,
/// and memory across many ticks.
struct BenchTelemetry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "telemetry", abstract: "Sampling cost per tick on a generated sysfs/procfs tree, and RSS across many ticks.", discussion: "Examples:\n  p2ptop bench telemetry")

    @Option(help: "PCI functions in the generated tree.")
    var devices: Int = 100

    @Option(help: "Ticks to run.")
    var ticks: Int = 2000

    @Flag(help: "Print JSON (schema p2ptop.bench/1).")
    var json = false

    func run() throws {
        // A generated tree in a private scratch directory (no name another user could plant).
        guard case .success(let root) = FileIO.makePrivateDirectory("p2ptop-bench-telemetry") else {
            throw CommandError(message: "bench: cannot make a scratch directory under $TMPDIR or /tmp")
        }
        defer { FileIO.removeTree(root) }
        Self.writeTree(root, devices: devices)
        let t = Telemetry.standard(root: root)
        t.tick(time: 0)
        let before = FileIO.residentKB()
        let perTick = Monotonic.time { for i in 1...max(1, ticks) { t.tick(time: Double(i)) } } / Double(max(1, ticks))
        let growth = FileIO.residentKB() - before
        emit(json ? BenchOutput.json("telemetry", [Measurement("tick_\(devices)_devices", perTick * 1e3, "ms"),
                                                   Measurement("rss_growth_\(ticks)_ticks", Double(growth), "KiB")]).serialized(pretty: true)
                  : "\(devices) devices: \(Bench.ms(perTick)) ms per tick; RSS growth over \(ticks) ticks: \(growth) KiB (series are bounded rings)")
    }

    /// A machine's counters as files: vmstat, one process, `devices` functions with link and
    /// AER attributes, every tenth with a p2pmem pool.
    static func writeTree(_ root: String, devices: Int) {
        func write(_ rel: String, _ text: String) {
            var dir = root
            for part in rel.split(separator: "/").dropLast() { dir += "/" + part; mkdir(dir, 0o700) }
            _ = FileIO.writeAtomically(root + "/" + rel, Array(text.utf8))
        }
        write("proc/vmstat", "nr_foll_pin_acquired 1000\nnr_foll_pin_released 990\n")
        write("proc/1/status", "Name:\tinit\nVmLck:\t0 kB\nVmPin:\t0 kB\n")
        for i in 0..<devices {
            let bdf = "0000:\(hex(i / 32 + 1, width: 2)):\(hex(i % 32, width: 2)).0"
            write("sys/bus/pci/devices/\(bdf)/current_link_speed", "16.0 GT/s PCIe\n")
            write("sys/bus/pci/devices/\(bdf)/current_link_width", "16\n")
            write("sys/bus/pci/devices/\(bdf)/aer_dev_correctable", "RxErr 0\nTOTAL_ERR_COR 0\n")
            if i % 10 == 0 {
                write("sys/bus/pci/devices/\(bdf)/p2pmem/size", "268435456\n")
                write("sys/bus/pci/devices/\(bdf)/p2pmem/available", "268435456\n")
            }
        }
    }
}
