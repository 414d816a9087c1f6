import CPCI
import PCITopology

#if canImport(Glibc)
@preconcurrency import Glibc
import LinuxFiles
#endif

/// The live machine (`root == "/"`) or a captured filesystem root, read through libpci's
/// linux-sysfs back end plus `SysfsExtras`.
public enum SysfsSource {
    public static func load(root: String) throws(SourceError) -> Topology {
        let extras = SysfsExtras(root: root)
        let devicesDir = extras.devicesDirectory
        let label = root == "/" ? devicesDir : root
        guard FileIO.isDirectory(root) else {
            throw SourceError(file: root, "not a directory: expected a filesystem root containing sys/bus/pci/devices")
        }
        guard FileIO.isDirectory(devicesDir) else {
            throw SourceError(file: devicesDir, "missing: expected a captured root with sys/bus/pci/devices (like hwloc-gather-topology output)")
        }
        if root != "/" { try refuseSpecialFiles(devicesDir) }
        let session = try LibPCISession(method: P2P_ACCESS_SYS_BUS_PCI,
                                        params: ["sysfs.path": join(root, "sys/bus/pci")], label: label)
        // Reading config space is slow on VMs (about 1 ms per 256 bytes here): read each
        // function's readable length once. Without root, Linux serves 64 bytes whatever the size.
        let unprivileged = root == "/" && geteuid() != 0
        let raw = try session.scan { bdf in
            if unprivileged { return 64 }
            var st = stat()
            return stat(join(devicesDir, bdf.description + "/config"), &st) == 0 ? Int(st.st_size) : nil
        }
        session.close()
        let osDevices = OSDevices.scan(root: root)
        let devices = raw.map { r in
            var facts = extras.facts(for: r.bdf, resources: r.resources)
            facts.osDevices = osDevices[r.bdf] ?? []
            return Device(bdf: r.bdf, config: ConfigSpace(r.config), sysfs: facts)
        }
        let privileged = root == "/" ? geteuid() == 0 : nil
        var t = Topology(devices: devices, host: HostProbe.probe(root: root),
                         source: SourceInfo(kind: root == "/" ? .live : .sysfsRoot, path: root == "/" ? nil : root,
                                            privileged: privileged))
        // NVLinks are not in sysfs: on the live machine NVIDIA's driver tells them, where it is.
        if root == "/" && devices.contains(where: { $0.vendorID == 0x10de && $0.baseClass == 0x03 }) { t.nvlinks = NVLinkProbe.live() }
        return t
    }
}

extension SysfsSource {
    /// A captured root is someone else's files: a FIFO (or socket, or device) where a sysfs
    /// attribute belongs would block libpci's reads forever. Every entry of every function's
    /// directory must be a regular file, a directory or a link.
    static func refuseSpecialFiles(_ devicesDir: String) throws(SourceError) {
        for fn in FileIO.listDirectory(devicesDir) ?? [] {
            let dir = FileIO.join(devicesDir, fn)
            for entry in FileIO.listDirectory(dir) ?? [] {
                var st = stat()
                let path = FileIO.join(dir, entry)
                guard stat(path, &st) == 0 else { continue }   // a dangling link: libpci skips it too
                switch st.st_mode & S_IFMT {
                case S_IFREG, S_IFDIR: continue
                case S_IFIFO: throw SourceError(file: path, "is a FIFO: a captured sysfs attribute must be a regular file")
                default: throw SourceError(file: path, "is not a regular file: a captured sysfs attribute must be one")
                }
            }
        }
    }
}
