import Foundation
import Testing

/// `watch --openmetrics` and `--textfile` checked by Prometheus' own tools: `promtool check
/// metrics` (Debian's prometheus package) on the Prometheus text, the `prometheus_client`
/// OpenMetrics parser on the OpenMetrics text. Both run on output from a root where every
/// sampler has something to say, and both are shown rejecting the old output first.
@Suite struct ExpositionTests {
    static let promtool: String? = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let python: String? = {
        for py in ["/usr/bin/python3", "/usr/local/bin/python3"] where FileManager.default.isExecutableFile(atPath: py) {
            if let r = try? CLI.run(["-c", "\(py) -c 'import prometheus_client.openmetrics.parser' 2>/dev/null"], shell: true), r.status == 0 { return py }
        }
        return nil
    }()

    /// A root in which each sampler finds a value: vmstat pins, a pinning process, a p2pmem
    /// pool, an RDMA port, a block device, a PCIe link with AER counts.
    static func makeRoot() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-om-\(UUID().uuidString)").path
        func write(_ rel: String, _ text: String) throws {
            let url = URL(fileURLWithPath: root + "/" + rel)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        try write("proc/vmstat", "nr_foll_pin_acquired 4096\nnr_foll_pin_released 1024\n")
        try write("proc/42/status", "Name:\tib \"write\" [bw]\nVmLck:\t     0 kB\nVmPin:\t  2048 kB\n")
        try write("sys/bus/pci/devices/0000:1c:00.0/p2pmem/size", "268435456\n")
        try write("sys/bus/pci/devices/0000:1c:00.0/p2pmem/available", "134217728\n")
        try write("sys/bus/pci/devices/0000:1c:00.0/current_link_speed", "16.0 GT/s PCIe\n")
        try write("sys/bus/pci/devices/0000:1c:00.0/current_link_width", "4\n")
        try write("sys/bus/pci/devices/0000:1c:00.0/aer_dev_correctable", "RxErr 0\nTOTAL_ERR_COR 3\n")
        try write("sys/bus/pci/devices/0000:1c:00.0/aer_dev_fatal", "TOTAL_ERR_FATAL 0\n")
        try write("sys/class/infiniband/mlx5_0/ports/1/counters/port_xmit_data", "1000\n")
        try write("sys/class/infiniband/mlx5_0/ports/1/counters/port_rcv_data", "250\n")
        try write("sys/block/nvme0n1/stat", "  10 0 2048 5 20 0 4096 7 0 9 12 0 0 0 0 0 0\n")
        return root
    }

    static func watch(_ root: String) throws -> (openMetrics: String, prometheus: String) {
        let om = root + "/out.om", prom = root + "/out.prom"
        let r = try CLI.run(["watch", "--sysfs-root", root, "--count", "1", "--openmetrics", om, "--textfile", prom])
        #expect(r.status == 0, "\(r.stderr)")
        return (try String(contentsOfFile: om, encoding: .utf8), try String(contentsOfFile: prom, encoding: .utf8))
    }

    static func promtoolCheck(_ text: String) throws -> CLI.Result {
        let file = CLI.temp(text)
        return try CLI.run(["-c", "\(promtool!) check metrics < \(file) 2>&1"], shell: true)
    }

    static func openMetricsParse(_ text: String) throws -> CLI.Result {
        let file = CLI.temp(text)
        let script = """
        import sys
        from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse
        for f in parse(open(sys.argv[1]).read()):
            for s in f.samples: print(f.name, f.type, f.unit, s.name, sorted(s.labels.items()), s.value)
        """
        return try CLI.run(["-c", "\(python!) -c '\(script)' \(file) 2>&1"], shell: true)
    }

    @Test func familiesAreNamedTypedAndLabelled() throws {
        let (om, prom) = try Self.watch(try Self.makeRoot())
        #expect(om.hasSuffix("\n# EOF\n"))
        #expect(om.contains("# TYPE p2ptop_foll_pin_acquired_pages counter\n# UNIT p2ptop_foll_pin_acquired_pages pages\n"))
        #expect(om.contains("p2ptop_foll_pin_acquired_pages_total 4096\n") && om.contains("p2ptop_foll_pin_outstanding_pages 3072\n"))
        #expect(om.contains("p2ptop_process_pinned_bytes{pid=\"42\",comm=\"ib \\\"write\\\" [bw]\"} 2097152\n"), "kB → bytes, quotes escaped")
        #expect(om.contains("p2ptop_rdma_port_transmitted_bytes_total{device=\"mlx5_0\",port=\"1\"} 4000\n"), "4-byte words → bytes")
        #expect(om.contains("p2ptop_block_read_bytes_total{device=\"nvme0n1\"} 1048576\n"))
        #expect(om.contains("p2ptop_pcie_aer_correctable_errors_total{bdf=\"0000:1c:00.0\"} 3\n"))
        #expect(om.contains("p2ptop_pcie_link_speed_transfers_per_second{bdf=\"0000:1c:00.0\"} 16000000000\n"))
        #expect(!om.contains("_kb") && !om.contains("vmpin_vmpin"))
        #expect(prom.contains("# HELP p2ptop_block_read_bytes_total ") && prom.contains("# TYPE p2ptop_block_read_bytes_total counter\n"))
        #expect(!prom.contains("# EOF") && !prom.contains("# UNIT"))
        // Every family has HELP; every counter's samples end in _total.
        for line in om.split(separator: "\n") where line.hasPrefix("# TYPE ") {
            let parts = line.split(separator: " ")
            #expect(om.contains("# HELP \(parts[2]) "), "\(parts[2]) has no HELP")
        }
    }

    @Test(.enabled(if: ExpositionTests.promtool != nil, "promtool not installed (Debian's prometheus package)"))
    func promtoolReportsNothing() throws {
        // The check can fail: the pre-catalog output (gauges named *_kb, counters without _total).
        let old = try Self.promtoolCheck("# TYPE p2ptop_vmpin_vmpin_kb gauge\np2ptop_vmpin_vmpin_kb{id=\"x\"} 1\n# TYPE p2ptop_block_read_bytes counter\np2ptop_block_read_bytes{id=\"vda\"} 1\n")
        #expect(old.status != 0 && old.stdout.contains("no help text"))
        let (om, prom) = try Self.watch(try Self.makeRoot())
        let r = try Self.promtoolCheck(prom)
        #expect(r.status == 0 && r.stdout.isEmpty, "\(r.stdout)")
        // Why --textfile exists beside --openmetrics: promtool reads the Prometheus text
        // format, in which an OpenMetrics counter family (named without _total) has no HELP.
        let onOpenMetrics = try Self.promtoolCheck(om)
        #expect(onOpenMetrics.stdout.contains("_total no help text"), "\(onOpenMetrics.stdout)")
    }

    @Test(.enabled(if: ExpositionTests.python != nil, "python3 with prometheus_client not installed"))
    func theOpenMetricsParserRefusesThePrometheusForm() throws {
        // …and the OpenMetrics parser refuses the Prometheus text form (no # EOF; a counter
        // family named with _total): one text cannot serve both, hence two files.
        let (_, prom) = try Self.watch(try Self.makeRoot())
        #expect(try Self.openMetricsParse(prom).status != 0)
        #expect(try Self.openMetricsParse(prom + "# EOF\n").status != 0)
    }

    @Test(.enabled(if: ExpositionTests.python != nil, "python3 with prometheus_client not installed"))
    func prometheusClientReadsOpenMetrics() throws {
        // The check can fail: without # EOF, or with a counter sample lacking _total.
        #expect(try Self.openMetricsParse("# TYPE a gauge\na 1\n").status != 0)
        #expect(try Self.openMetricsParse("# TYPE a_bytes counter\n# UNIT a_bytes bytes\na_bytes 1\n# EOF\n").status != 0)
        let (om, _) = try Self.watch(try Self.makeRoot())
        let r = try Self.openMetricsParse(om)
        #expect(r.status == 0, "\(r.stdout)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 17, "\(r.stdout)")
        #expect(lines.contains("p2ptop_process_locked_bytes gauge bytes p2ptop_process_locked_bytes [('comm', 'ib \"write\" [bw]'), ('pid', '42')] 0"))
        #expect(!lines.contains { $0.contains(" unknown ") }, "every sample belongs to its typed family")
        #expect(lines.contains("p2ptop_block_written_bytes counter bytes p2ptop_block_written_bytes_total [('device', 'nvme0n1')] 2097152"))
    }
}
