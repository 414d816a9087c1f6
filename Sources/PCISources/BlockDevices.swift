import LinuxFiles
import PCITopology

/// A block device and the PCI function doing its DMA (found by `OSDevices` through the
/// `/sys/block/NAME` link), with its size: what the explorer offers to read for real.
public struct BlockDevice: Hashable, Sendable {
    public var name: String
    public var bytes: UInt64
    public var function: BDF
    public var devicePath: String { "/dev/\(name)" }
    public init(name: String, bytes: UInt64, function: BDF) { self.name = name; self.bytes = bytes; self.function = function }
}

public enum BlockDevices {
    /// The block devices the topology's functions carry as OS devices (found once, at load),
    /// with their sizes from `sys/block/NAME/size` (512-byte sectors).
    public static func list(_ t: Topology, root: String) -> [BlockDevice] {
        t.devices.flatMap { d in
            (d.sysfs?.osDevices ?? []).filter { $0.kind == .block }.map { os in
                let sectors = FileIO.attribute(FileIO.join(root, "sys/block/\(os.name)/size")).flatMap { UInt64($0) } ?? 0
                return BlockDevice(name: os.name, bytes: sectors * 512, function: d.bdf)
            }
        }
    }
}
