import LinuxFiles
import PCITopology

/// Block devices and the PCI function each sits on: `/sys/block/NAME` links into the device
/// tree (`../devices/pci0000:00/0000:00:1d.0/0000:3b:00.0/nvme/nvme0/nvme0n1`), so the last BDF in
/// the link is the function doing the DMA. Virtual devices (loop, zram) have none.
public struct BlockDevice: Hashable, Sendable {
    public var name: String
    public var bytes: UInt64
    public var function: BDF
    public var devicePath: String { "/dev/\(name)" }
    public init(name: String, bytes: UInt64, function: BDF) { self.name = name; self.bytes = bytes; self.function = function }
}

public enum BlockDevices {
    public static func list(root: String) -> [BlockDevice] {
        let base = FileIO.join(root, "sys/block")
        return (FileIO.listDirectory(base) ?? []).sorted().compactMap { name in
            guard let bdf = OSDevices.function(FileIO.join(base, name)) else { return nil }
            let sectors = FileIO.attribute(FileIO.join(base, "\(name)/size")).flatMap { UInt64($0) } ?? 0
            return BlockDevice(name: name, bytes: sectors * 512, function: bdf)
        }
    }
}
