import Foundation
import Testing
@testable import Telemetry

/// Samplers on fake procfs/sysfs trees: normal reads, vanishing files, resets.
@Suite struct SamplerTests {
    let root: URL = {
        let r = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-telemetry-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: r, withIntermediateDirectories: true)
        return r
    }()

    func write(_ rel: String, _ text: String) throws {
        let url = root.appendingPathComponent(rel)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// Released read ahead of acquired (per-CPU batches folded unevenly): never negative; with
    /// the CPUs online known, each count carries its bound, the batch times the CPUs.
    @Test func outstandingPinsAreNeverNegativeAndSayTheirBound() throws {
        let dir = root.appendingPathComponent("bound")
        func put(_ rel: String, _ text: String) throws {
            let url = dir.appendingPathComponent(rel)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        try put("sys/devices/system/cpu/online", "0-3,6\n")
        try put("proc/vmstat", "nr_foll_pin_acquired 293\nnr_foll_pin_released 300\n")
        let r = VMStatSampler(root: dir.path).sample()
        #expect(r.values["outstanding"] == 0 && r.values["bound"] == 625, "\(r.values)")
    }

    @Test func vmstatPinsAndRates() throws {
        try write("proc/vmstat", "nr_free_pages 1\nnr_foll_pin_acquired 100\nnr_foll_pin_released 90\n")
        let t = Telemetry(samplers: [VMStatSampler(root: root.path)])
        t.tick(time: 0)
        #expect(t.lastReadings["pins"]?.values["outstanding"] == 10 && t.lastReadings["pins"]?.values["bound"] == nil, "no CPUs to count: no bound claimed")
        try write("proc/vmstat", "nr_foll_pin_acquired 300\nnr_foll_pin_released 250\n")
        t.tick(time: 2)
        #expect(t.series["pins.vmstat_acquired"]?.rate == 100 && t.series["pins.vmstat_released"]?.rate == 80)
        // A reset (reboot, counter wrap): no rate for that interval, never a negative one.
        try write("proc/vmstat", "nr_foll_pin_acquired 5\nnr_foll_pin_released 5\n")
        t.tick(time: 3)
        #expect(t.series["pins.vmstat_acquired"]?.rate == nil)
        #expect(t.series["pins.vmstat_acquired"]?.rates == [100, 0])
    }

    @Test func vanishingFilesMarkStaleNeverCrash() throws {
        try write("proc/vmstat", "nr_foll_pin_acquired 1\nnr_foll_pin_released 1\n")
        let t = Telemetry.standard(root: root.path)
        t.tick(time: 0)
        try FileManager.default.removeItem(at: root.appendingPathComponent("proc/vmstat"))
        t.tick(time: 1)
        #expect(t.stale["pins"]?.contains("cannot read") == true && t.series["pins.outstanding"]?.stale == true)
        try write("proc/vmstat", "nr_foll_pin_acquired 2\nnr_foll_pin_released 1\n")
        t.tick(time: 2)
        #expect(t.stale["pins"] == nil && t.series["pins.outstanding"]?.last == 1)
        try write("proc/vmstat", "nr_free_pages 1\n")
        t.tick(time: 3)
        #expect(t.stale["pins"]?.contains("5.7") == true)
    }

    @Test func processPinsP2PMemRDMABlockAndPCI() throws {
        try write("proc/42/status", "Name:\tib_write_bw\nVmLck:\t     0 kB\nVmPin:\t  2048 kB\n")
        try write("proc/43/status", "Name:\tbash\nVmLck:\t     0 kB\nVmPin:\t     0 kB\n")
        try write("proc/self/status", "Name:\tx\n")
        try write("sys/bus/pci/devices/0000:1c:00.0/p2pmem/size", "268435456\n")
        try write("sys/bus/pci/devices/0000:1c:00.0/p2pmem/available", "134217728\n")
        try write("sys/bus/pci/devices/0000:1c:00.0/current_link_speed", "16.0 GT/s PCIe\n")
        try write("sys/bus/pci/devices/0000:1c:00.0/current_link_width", "4\n")
        try write("sys/bus/pci/devices/0000:1c:00.0/aer_dev_correctable", "RxErr 0\nTOTAL_ERR_COR 3\n")
        try write("sys/class/infiniband/mlx5_0/ports/1/counters/port_xmit_data", "1000\n")
        try write("sys/class/infiniband/mlx5_0/ports/1/counters/port_rcv_data", "250\n")
        try write("sys/block/nvme0n1/stat", "  10 0 2048 5 20 0 4096 7 0 9 12 0 0 0 0 0 0\n")
        // Soft-RoCE keeps packet counters only (hw_counters), mlx5 has both: bytes win there.
        try write("sys/class/infiniband/rxe0/ports/1/hw_counters/sent_pkts", "700\n")
        try write("sys/class/infiniband/rxe0/ports/1/hw_counters/rcvd_pkts", "690\n")
        try write("sys/class/infiniband/mlx5_0/ports/1/hw_counters/sent_pkts", "9\n")
        let t = Telemetry.standard(root: root.path)
        t.tick(time: 0)
        #expect(t.lastReadings["vmpin"]?.values["vmpin_kb{ib_write_bw[42]}"] == 2048 && t.lastReadings["vmpin"]?.values["total_vmpin_kb"] == 2048)
        #expect(t.lastReadings["p2pmem"]?.values["available{0000:1c:00.0}"] == 134217728)
        #expect(t.lastReadings["rdma"]?.values["xmit_bytes{mlx5_0/1}"] == 4000, "4-byte words")
        #expect(t.lastReadings["rdma"]?.values["xmit_packets{rxe0/1}"] == 700 && t.lastReadings["rdma"]?.values["rcv_packets{rxe0/1}"] == 690)
        #expect(t.lastReadings["rdma"]?.values["xmit_packets{mlx5_0/1}"] == nil && t.lastReadings["rdma"]?.values["xmit_bytes{rxe0/1}"] == nil)
        let readBytes: Double? = t.lastReadings["block"]?.values["read_bytes{nvme0n1}"]
        #expect(readBytes == 1_048_576)
        #expect(t.lastReadings["pci"]?.values["link_gts{0000:1c:00.0}"] == 16 && t.lastReadings["pci"]?.values["aer_total_err_cor{0000:1c:00.0}"] == 3)
        let om = OpenMetrics.render(t.lastReadings)
        #expect(om.contains("# TYPE p2ptop_rdma_port_transmitted_bytes counter\n") && om.hasSuffix("# EOF\n"))
        #expect(om.contains("p2ptop_rdma_port_transmitted_bytes_total{device=\"mlx5_0\",port=\"1\"} 4000\n"))
        #expect(om.contains("# UNIT p2ptop_rdma_port_transmitted_packets packets\n") && om.contains("p2ptop_rdma_port_transmitted_packets_total{device=\"rxe0\",port=\"1\"} 700\n"))
    }

    @Test func seriesRingIsBounded() {
        var s = Series(capacity: 3)
        for i in 0..<10 { s.append(time: Double(i), value: Double(i * 2)) }
        #expect(s.values == [14, 16, 18] && s.rate == 2)
    }
}
