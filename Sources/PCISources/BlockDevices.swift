#if canImport(Glibc)
@preconcurrency import Glibc
#endif
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

extension BlockDevices {
    /// The PCI function behind a file or block device: the disk holding `path` (its partition's
    /// parent), through `/sys/dev/block/MAJOR:MINOR`; nil for anything not on a PCI disk.
    public static func function(holding path: String, in t: Topology, root: String = "/") -> BDF? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let dev = UInt64((st.st_mode & S_IFMT) == S_IFBLK ? st.st_rdev : st.st_dev)
        let major = (dev >> 8) & 0xfff | ((dev >> 32) & ~UInt64(0xfff))
        let minor = (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff))
        guard var name = FileIO.linkName(FileIO.join(root, "sys/dev/block/\(major):\(minor)")) else { return nil }
        if FileIO.exists(FileIO.join(root, "sys/class/block/\(name)/partition")),
           let parent = FileIO.readLink(FileIO.join(root, "sys/class/block/\(name)"))?.split(separator: "/").dropLast().last {
            name = String(parent)
        }
        return t.devices.first { d in (d.sysfs?.osDevices ?? []).contains { $0.kind == .block && $0.name == name } }?.bdf
    }
}
