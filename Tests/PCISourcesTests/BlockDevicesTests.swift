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
        let found = BlockDevices.list(root: root)
        #expect(found.map(\.name) == ["nvme0n1", "vda"], "loop devices sit on no PCI function")
        #expect(found[0].function == BDF("0000:3b:00.0") && found[0].bytes == 7814037168 * 512 && found[0].devicePath == "/dev/nvme0n1")
        #expect(found[1].function == BDF("0000:00:02.0"))
    }
}
