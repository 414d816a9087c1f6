import Foundation
import Testing
import PCITopology
@testable import P2PEngine
@testable import RealBackends

/// RDMA devices as the kernel shows them: rate text, port states, a captured sysfs tree, and
/// the choice of port for a loopback write.
@Suite struct RDMATests {
    /// The kernel's `rate_show` strings for real link speeds (`ibstat`/`ibv_devinfo` print the same).
    @Test func rateMatchesTheKernelText() {
        let cases: [(width: Int, speed: Int, text: String, gbps: Double)] = [
            (1, 1, "2.5 Gb/sec (1X)", 2.5), (2, 1, "10 Gb/sec (4X)", 10), (2, 2, "20 Gb/sec (4X DDR)", 20),
            (2, 4, "40 Gb/sec (4X QDR)", 40), (2, 8, "40 Gb/sec (4X FDR10)", 40), (2, 16, "56 Gb/sec (4X FDR)", 56),
            (2, 32, "100 Gb/sec (4X EDR)", 100), (2, 64, "200 Gb/sec (4X HDR)", 200), (16, 64, "100 Gb/sec (2X HDR)", 100),
            (2, 128, "400 Gb/sec (4X NDR)", 400), (8, 4, "120 Gb/sec (12X QDR)", 120), (1, 2, "5 Gb/sec (1X DDR)", 5),
        ]
        for c in cases {
            let r = RDMARate(width: c.width, speed: c.speed)
            #expect(r?.text == c.text, "width \(c.width) speed \(c.speed)")
            #expect(r?.gbps == c.gbps)
            #expect(RDMARate(sysfs: c.text + "\n") == r, "parses back: \(c.text)")
        }
        #expect(RDMARate(width: 3, speed: 32) == nil, "3 is no width the kernel knows")
        #expect(RDMARate(sysfs: "fast") == nil)
        #expect(RDMARate(sysfs: "1.25 Gb/sec (1X)") == nil)
    }

    @Test func numberedStates() {
        #expect(parseNumberedState("4: ACTIVE\n").map { [$0.code: $0.name] } == [4: "ACTIVE"])
        #expect(parseNumberedState("5: LinkUp")?.name == "LinkUp")
        #expect(parseNumberedState("ACTIVE") == nil)
        #expect(RDMAPortState(rawValue: 4)?.name == "ACTIVE")
        #expect(rdmaPhysStateName(3) == "Disabled")
        #expect(formatGUID(0xb859_9f03_00d4_e5a2) == "b859:9f03:00d4:e5a2", "verbs GUIDs print as sysfs does")
        #expect(formatGUID(0x2c9) == "0000:0000:0000:02c9")
    }

    /// A captured `/sys/class/infiniband` with one dual-port ConnectX: port 1 up at EDR,
    /// port 2 down; counters in 4-byte words.
    static func fakeTree() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-rdma-\(UUID().uuidString.prefix(8))").path
        let fm = FileManager.default
        func write(_ rel: String, _ text: String) throws {
            let p = root + "/" + rel
            try fm.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: p, atomically: false, encoding: .utf8)
        }
        let dev = "sys/class/infiniband/mlx5_0"
        try write("sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/vendor", "0x15b3\n")
        try write("\(dev)/node_type", "1: CA\n")
        try write("\(dev)/fw_ver", "16.35.2000\n")
        try write("\(dev)/node_guid", "b859:9f03:00d4:e5a2\n")
        try fm.createSymbolicLink(atPath: root + "/\(dev)/device", withDestinationPath: "../../../devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0")
        for (port, state, phys, rate, xmit) in [(1, "4: ACTIVE", "5: LinkUp", "100 Gb/sec (4X EDR)", "2500"), (2, "1: DOWN", "3: Disabled", "10 Gb/sec (4X)", "0")] {
            try write("\(dev)/ports/\(port)/state", state + "\n")
            try write("\(dev)/ports/\(port)/phys_state", phys + "\n")
            try write("\(dev)/ports/\(port)/rate", rate + "\n")
            try write("\(dev)/ports/\(port)/link_layer", "InfiniBand\n")
            try write("\(dev)/ports/\(port)/lid", "0x1a\n")
            try write("\(dev)/ports/\(port)/counters/port_xmit_data", xmit + "\n")
            try write("\(dev)/ports/\(port)/counters/port_rcv_data", "10\n")
        }
        // Port 1's GID table: link-local RoCE v1 and v2, an IPv4-mapped RoCE v2, an unused entry.
        let gids = [("fe80:0000:0000:0000:ba59:9fff:fed4:e5a2", "IB/RoCE v1"), ("fe80:0000:0000:0000:ba59:9fff:fed4:e5a2", "RoCE v2"),
                    ("0000:0000:0000:0000:0000:ffff:c0a8:010a", "RoCE v2"), ("0000:0000:0000:0000:0000:0000:0000:0000", nil)]
        for (i, (gid, type)) in gids.enumerated() {
            try write("\(dev)/ports/1/gids/\(i)", gid + "\n")
            if let type { try write("\(dev)/ports/1/gid_attrs/types/\(i)", type + "\n"); try write("\(dev)/ports/1/gid_attrs/ndevs/\(i)", "ens1f0np0\n") }
        }
        return root
    }

    @Test func sysfsTreeGivesDevicesPortsAndCounters() throws {
        let root = try Self.fakeTree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let inv = SysfsRDMASource(root: root).inventory()
        #expect(inv.unavailable == nil)
        #expect(inv.devices.count == 1)
        let d = try #require(inv.devices.first)
        #expect(d.name == "mlx5_0" && d.nodeType == "CA" && d.firmware == "16.35.2000" && d.pciAddress == "0000:3b:00.0")
        #expect(d.ports.map(\.number) == [1, 2])
        #expect(d.ports[0].state == .active && d.ports[0].physState == "LinkUp" && d.ports[0].rate?.gbps == 100)
        #expect(d.ports[0].lid == 0x1a && d.ports[0].linkLayer == .infiniband)
        #expect(d.ports[0].transmittedBytes == 10_000, "2500 words × 4")
        #expect(d.ports[0].receivedBytes == 40)
        #expect(d.ports[1].state == .down && d.ports[1].physState == "Disabled")
        #expect(d.ports[0].gids.map(\.index) == [0, 1, 2], "the unused entry is left out")
        #expect(d.ports[0].gids[2].address == "192.168.1.10" && d.ports[0].gids[2].type == "RoCE v2" && d.ports[0].gids[2].netdev == "ens1f0np0")
        #expect(d.ports[0].gids[0].address == "fe80:0000:0000:0000:ba59:9fff:fed4:e5a2" && d.ports[1].gids.isEmpty)
        #expect(VerbsLoopback.preferredGID(d.ports[0].gids) == 2, "RoCE v2 on an IPv4 address")
        #expect(VerbsLoopback.preferredGID(Array(d.ports[0].gids.prefix(2))) == 1, "else any RoCE v2")
        #expect(VerbsLoopback.preferredGID([]) == 0, "InfiniBand: entry 0")
        #expect(inv.summary == "1 RDMA device, 1/2 ports active")
    }

    @Test func noRDMASubsystemIsNamedNotAnError() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-nordma-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root + "/sys/class", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let inv = SysfsRDMASource(root: root).inventory()
        #expect(inv.devices.isEmpty)
        #expect(inv.summary.hasPrefix("no RDMA devices (no \(root)/sys/class/infiniband"))
    }

    /// This machine through libibverbs: either devices, or an empty list with the reason.
    @Test func verbsOnThisMachineNeverFails() {
        let inv = VerbsRDMASource().inventory()
        #expect(inv.devices.isEmpty == (inv.unavailable != nil))
        if !FileManager.default.fileExists(atPath: "/sys/class/infiniband") {
            #expect(inv.devices.isEmpty)
            #expect(inv.summary.hasPrefix("no RDMA devices (ibv_get_device_list"), "\(inv.summary)")
        }
    }

    @Test func loopbackPicksAnActivePortOrSaysWhyNot() throws {
        let root = try Self.fakeTree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let inv = SysfsRDMASource(root: root).inventory()
        #expect(try VerbsLoopback.choose(inv, device: nil, port: nil) == ("mlx5_0", 1))
        #expect(throws: EngineError.self) { try VerbsLoopback.choose(inv, device: "mlx5_0", port: 2) }
        do { _ = try VerbsLoopback.choose(inv, device: "mlx5_0", port: 2); Issue.record("port 2 is down") } catch {
            #expect(error.errno == .ENETDOWN && error.message.contains("port 2 DOWN"))
        }
        do { _ = try VerbsLoopback.choose(inv, device: "irdma0", port: nil); Issue.record("no such device") } catch {
            #expect(error.errno == .ENODEV && error.message.contains("present: mlx5_0"))
        }
        let none = RDMAInventory(devices: [], unavailable: "ibv_get_device_list: Function not implemented", source: "verbs")
        do { _ = try VerbsLoopback.choose(none, device: nil, port: nil); Issue.record("no devices") } catch {
            #expect(error.errno == .ENODEV && error.message == "no RDMA devices (ibv_get_device_list: Function not implemented)")
        }
        // The whole run without devices: a result carrying the reason, nothing touched.
        let r = VerbsLoopback.run(.init(device: nil, port: nil, target: .host, size: 1 << 20, block: 1 << 16), inventory: none)
        #expect(r.error?.errno == .ENODEV && r.bytes == 0 && !r.verified)
    }
}

/// The memory a real transfer lands in.
@Suite struct RealBufferTests {
    @Test func hostMemoryIsMappedAndZeroed() throws {
        let b = try RealBuffer(.host, size: 1 << 20)
        #expect(b.dmabufFD == nil)
        #expect(b.base.load(fromByteOffset: 4096, as: UInt64.self) == 0)
        b.base.storeBytes(of: 42, toByteOffset: (1 << 20) - 8, as: UInt64.self)
        #expect(b.base.load(fromByteOffset: (1 << 20) - 8, as: UInt64.self) == 42)
    }

    /// A DMA-BUF heap where the kernel offers one; otherwise the reason, never a crash.
    @Test func dmabufHeapOrTheReason() throws {
        if FileManager.default.fileExists(atPath: "/dev/dma_heap/system") {
            let b = try RealBuffer(.dmabuf(heap: "system"), size: 1 << 20)
            #expect((b.dmabufFD ?? -1) >= 0)
            b.base.storeBytes(of: 7, toByteOffset: 0, as: UInt64.self)
            #expect(b.base.load(as: UInt64.self) == 7)
        } else {
            do { _ = try RealBuffer(.dmabuf(heap: "system"), size: 1 << 20); Issue.record("no heap, yet a buffer") } catch {
                #expect(error.errno == .ENODEV && error.message.hasPrefix("no /dev/dma_heap/system: this kernel offers no DMA-BUF heap"))
            }
        }
        do { _ = try RealBuffer(.p2pmem("0000:ff:1f.7"), size: 1 << 20); Issue.record("no such provider") } catch {
            #expect(error.message.contains("publishes no p2pmem"))
        }
    }
}
