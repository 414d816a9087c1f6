import Foundation
import Testing
import PCITopology
@testable import PCISources

/// Block devices found through /sys/block links, each on the PCI function that does its DMA.
@Suite struct BlockDevicesTests {
    @Test func blockDevicesSitOnTheirPCIFunction() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-block-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        let devices = [("nvme0n1", "../devices/pci0000:00/0000:00:1d.0/0000:3b:00.0/nvme/nvme0/nvme0n1", "7814037168"),
                       ("vda", "../devices/pci0000:00/0000:00:02.0/virtio1/block/vda", "536870912"),
                       ("loop0", "../devices/virtual/block/loop0", "0")]
        try fm.createDirectory(atPath: root + "/sys/block", withIntermediateDirectories: true)
        for (name, link, sectors) in devices {
            let target = root + "/sys/block/" + link
            try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
            try (sectors + "\n").write(toFile: target + "/size", atomically: false, encoding: .utf8)
            try fm.createSymbolicLink(atPath: root + "/sys/block/" + name, withDestinationPath: link)
        }
        // The functions as a load would give them: each with the OS devices found on it.
        let functions = OSDevices.scan(root: root).map { bdf, os -> Device in
            var facts = SysfsFacts()
            facts.osDevices = os
            return Device(bdf: bdf, config: ConfigSpaceBuilder(size: 64, vendor: 0x1af4, device: 0x1042, classCode: 0x0108).config, sysfs: facts)
        }
        let found = BlockDevices.list(Topology(devices: functions, source: SourceInfo(kind: .sysfsRoot)), root: root)
        #expect(found.map(\.name) == ["vda", "nvme0n1"], "in topology (bus) order; loop devices sit on no PCI function")
        let nvme = try #require(found.first { $0.name == "nvme0n1" }), vda = try #require(found.first { $0.name == "vda" })
        #expect(nvme.function == BDF("0000:3b:00.0") && nvme.bytes == 7814037168 * 512 && nvme.devicePath == "/dev/nvme0n1")
        #expect(vda.function == BDF("0000:00:02.0") && vda.bytes == 536870912 * 512)
    }
}
