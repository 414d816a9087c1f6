import Foundation
import Testing
import PCITopology
@testable import PCISources

/// OS devices on their PCI functions, on a synthetic tree and against lstopo on real trees.
@Suite struct OSDevicesTests {
    @Test func classLinksLeadToTheirFunction() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-osdev-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        let nic = "../../devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0"
        let entries = [("sys/class/net/ens1f0", nic + "/net/ens1f0"), ("sys/class/net/lo", "../../devices/virtual/net/lo"),
                       ("sys/class/infiniband/mlx5_0", nic + "/infiniband/mlx5_0"),
                       ("sys/class/drm/card1", "../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/drm/card1"),
                       ("sys/class/drm/renderD128", "../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/drm/renderD128"),
                       ("sys/class/drm/card1-DP-1", "../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/drm/card1/card1-DP-1"),
                       ("sys/class/nvme/nvme0", "../../devices/pci0000:00/0000:00:1d.0/0000:02:00.0/nvme/nvme0"),
                       ("sys/block/nvme0n1", "../devices/pci0000:00/0000:00:1d.0/0000:02:00.0/nvme/nvme0/nvme0n1"),
                       ("sys/block/loop0", "../devices/virtual/block/loop0"),
                       // Soft-RoCE: virtual in the device tree, over a netdev on a PCI function.
                       ("sys/class/net/eth0", "../../devices/pci0000:00/0000:00:06.0/virtio0/net/eth0"),
                       ("sys/class/infiniband/rxe0", "../../devices/virtual/infiniband/rxe0"),
                       ("sys/class/infiniband/siw0", "../../devices/virtual/infiniband/siw0")]
        for (entry, link) in entries {
            try fm.createDirectory(atPath: (root + "/" + entry as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try fm.createSymbolicLink(atPath: root + "/" + entry, withDestinationPath: link)
        }
        // rxe0's port 1 runs over eth0 (`rdma link`: netdev eth0); siw0 names no netdev.
        try fm.createDirectory(atPath: root + "/sys/devices/virtual/infiniband/rxe0/ports/1/gid_attrs/ndevs", withIntermediateDirectories: true)
        try "eth0\n".write(toFile: root + "/sys/devices/virtual/infiniband/rxe0/ports/1/gid_attrs/ndevs/0", atomically: true, encoding: .utf8)
        let found = OSDevices.scan(root: root)
        #expect(found[BDF("0000:00:06.0")!] == [OSDevice(kind: .net, name: "eth0"), OSDevice(kind: .openfabrics, name: "rxe0")])
        #expect(found[BDF("0000:3b:00.0")!] == [OSDevice(kind: .net, name: "ens1f0"), OSDevice(kind: .openfabrics, name: "mlx5_0")])
        #expect(found[BDF("0000:01:00.0")!] == [OSDevice(kind: .gpu, name: "card1"), OSDevice(kind: .gpu, name: "renderD128")], "connectors are not devices")
        #expect(found[BDF("0000:02:00.0")!] == [OSDevice(kind: .block, name: "nvme0n1"), OSDevice(kind: .nvme, name: "nvme0")])
        #expect(found.count == 4, "lo, loop0 and siw0 (no netdev named) sit on no PCI function")
    }

    /// Every OS device lstopo attaches to a PCI function in the real captured trees, p2ptop
    /// attaches to the same function; whatever else p2ptop attaches, lstopo lists too.
    @Test(.enabled(if: Fixtures.available, Fixtures.skipMessage), arguments: Fixtures.sysfsTarballs)
    func agreeWithLstopo(_ name: String) throws {
        let root = try Fixtures.extract(name)
        defer { try? FileManager.default.removeItem(atPath: (root as NSString).deletingLastPathComponent) }
        let t = try SysfsSource.load(root: root)
        let text = try String(contentsOfFile: Fixtures.path("sysfs/\(name).lstopo-v.txt"), encoding: .utf8)
        var expected: [BDF: Set<String>] = [:]
        var allNames = Set<String>()
        var current: (bdf: BDF, indent: Int)?
        for line in text.split(separator: "\n") {
            let indent = line.prefix { $0 == " " }.count
            let body = line.dropFirst(indent)
            if body.hasPrefix("PCI"), let r = body.range(of: "busid="), let bdf = BDF(body[r.upperBound...].prefix { $0 != " " }) {
                current = (bdf, indent)
                continue
            }
            let kinds = ["Block", "GPU", "Network", "OpenFabrics", "CoProc", "DMA"]
            guard kinds.contains(where: { body.hasPrefix($0) }), body.hasSuffix("\""),
                  let open = body.dropLast().lastIndex(of: "\"") else { continue }
            let osName = String(body[body.index(after: open)..<body.index(before: body.endIndex)])
            allNames.insert(osName)
            if let c = current, indent > c.indent { expected[c.bdf, default: []].insert(osName) }
        }
        #expect(!allNames.isEmpty, "\(name): lstopo lists OS devices")
        for (bdf, names) in expected {
            let ours = Set(t.device(bdf)?.sysfs?.osDevices.map(\.name) ?? [])
            #expect(names.isSubset(of: ours), "\(name) \(bdf): lstopo \(names.sorted()), p2ptop \(ours.sorted())")
        }
        for d in t.devices {
            for os in d.sysfs?.osDevices ?? [] where os.kind != .nvme {
                #expect(allNames.contains(os.name), "\(name): p2ptop found \(os.name) on \(d.bdf), which lstopo does not list")
            }
        }
    }
}
