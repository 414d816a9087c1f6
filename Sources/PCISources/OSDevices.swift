import LinuxFiles
import PCITopology

/// OS devices by the PCI function they sit on, found the way lstopo finds them: each class
/// entry (`sys/class/net/ens3`, `sys/block/nvme0n1`, …) links into the device tree, and the last
/// BDF in that link is the function. Virtual devices (loop, lo, bridges) have none.
public enum OSDevices {
    static let classes: [(String, OSDevice.Kind, @Sendable (String) -> Bool)] = [
        ("sys/block", .block, { _ in true }),
        ("sys/class/net", .net, { _ in true }),
        ("sys/class/infiniband", .openfabrics, { _ in true }),
        ("sys/class/drm", .gpu, { n in (n.hasPrefix("card") || n.hasPrefix("renderD") || n.hasPrefix("controlD")) && !n.contains("-") }),
        ("sys/class/nvme", .nvme, { _ in true }),
    ]

    /// The PCI function a class entry's link leads to.
    static func function(_ entry: String) -> BDF? {
        FileIO.readLink(entry)?.split(separator: "/").compactMap { BDF($0) }.last
    }

    /// A software RDMA device (rxe, siw) is virtual in the device tree; it sits on the PCI
    /// function of the netdev it runs over (`ports/N/gid_attrs/ndevs/0`, what `rdma link` shows).
    static func overNetdev(root: String, _ name: String) -> BDF? {
        let ports = FileIO.join(root, "sys/class/infiniband/\(name)/ports")
        for port in (FileIO.listDirectory(ports) ?? []).sorted() {
            guard let netdev = FileIO.attribute(FileIO.join(ports, "\(port)/gid_attrs/ndevs/0")), !netdev.isEmpty, !netdev.contains("/") else { continue }
            if let bdf = function(FileIO.join(root, "sys/class/net/\(netdev)")) { return bdf }
        }
        return nil
    }

    public static func scan(root: String) -> [BDF: [OSDevice]] {
        var out: [BDF: [OSDevice]] = [:]
        for (dir, kind, keep) in classes {
            let base = FileIO.join(root, dir)
            for name in (FileIO.listDirectory(base) ?? []).sorted() where keep(name) {
                guard let bdf = function(FileIO.join(base, name)) ?? (kind == .openfabrics ? overNetdev(root: root, name) : nil) else { continue }
                out[bdf, default: []].append(OSDevice(kind: kind, name: name))
            }
        }
        return out
    }
}
