import CPCI
import PCITopology
import LinuxFiles

/// Vendor, device and class names from pci.ids (and udev's hwdb unless disabled), looked up
/// through libpci like lspci does. Loaded on first use: listing IDs costs nothing.
public final class NameDatabase: @unchecked Sendable {
    private var session: LibPCISession?
    private var failed = false
    private let useHWDB: Bool
    private var ids: PCIIDs??

    /// - Parameter useHWDB: consult udev's hwdb like lspci does by default. Where no hwdb is
    ///   installed (or it is off), names come from p2ptop's own lazy pci.ids reader, which
    ///   returns libpci's strings without libpci's whole-file parse.
    public init(useHWDB: Bool = true) {
        self.useHWDB = useHWDB && NameDatabase.hwdbPaths.contains { FileIO.exists($0) }
    }

    static let hwdbPaths = ["/etc/udev/hwdb.bin", "/usr/lib/udev/hwdb.bin", "/lib/udev/hwdb.bin"]

    /// The fast path, when hwdb is not involved.
    private func fast() -> PCIIDs? {
        if useHWDB { return nil }
        if let cached = ids { return cached }
        ids = .some(PCIIDs())
        return ids!
    }

    private func open() -> LibPCISession? {
        if let s = session { return s }
        if failed { return nil }
        // The dump method with no file never touches hardware; names need no scan.
        var params: [String: String] = ["dump.name": "/dev/null"]
        if !useHWDB { params["hwdb.disable"] = "1" }
        do {
            let s = try LibPCISession(method: P2P_ACCESS_DUMP, params: params, label: "libpci")
            session = s
            return s
        } catch {
            failed = true
            return nil
        }
    }

    /// `Vendor Device` as `lspci -tv` prints it.
    public func vendorDevice(_ d: Device) -> String {
        // NCCL's placeholders and p2ptop's stand-ins for what a file does not name.
        if let p = d.sysfs?.placeholder { return p }
        if let f = fast() { return f.vendorDevice(d.vendorID, d.deviceID) }
        return open()?.deviceName(vendor: d.vendorID, device: d.deviceID)
            ?? "Device \(hex(d.vendorID, width: 4)):\(hex(d.deviceID, width: 4))"
    }

    public func className(_ d: Device) -> String {
        if let f = fast() { return f.className(d.classCode) }
        return open()?.className(d.classCode) ?? "Class \(hex(d.classCode, width: 4))"
    }

    /// `Vendor Device [vvvv:dddd]` as `lspci -nn` prints it (libpci's PCI_LOOKUP_MIXED): an
    /// unknown device is `Vendor Device [vvvv:dddd]`, an unknown vendor `Device [vvvv:dddd]`.
    public func vendorDeviceMixed(_ d: Device) -> String {
        let ids = hex(d.vendorID, width: 4) + ":" + hex(d.deviceID, width: 4)
        let plain = vendorDevice(d)
        if plain == "Device " + ids { return "Device [\(ids)]" }
        if let v = vendor(d.vendorID), plain == v + " Device " + hex(d.deviceID, width: 4) { return v + " Device [\(ids)]" }
        return plain + " [\(ids)]"
    }

    /// `Class name [cccc]` as `lspci -nn` prints it: libpci gives a class known only by its
    /// base class as `Name [cccc]` already, and an unknown one as `Class [cccc]`.
    public func classNameMixed(_ d: Device) -> String {
        let code = hex(d.classCode, width: 4)
        let plain = className(d)
        if plain.hasSuffix(" [\(code)]") { return plain }
        if plain == "Class " + code { return "Class [\(code)]" }
        return plain + " [\(code)]"
    }

    public func vendor(_ id: UInt16) -> String? {
        if let f = fast() { return f.vendor(id) }
        return open()?.vendorName(id)
    }

    /// libpci's answers, for comparing the fast path against (tests).
    func libpciVendorDevice(_ v: UInt16, _ d: UInt16) -> String? { open()?.deviceName(vendor: v, device: d) }
    func libpciClassName(_ code: UInt16) -> String? { open()?.className(code) }

    public func subsystem(_ d: Device) -> String? {
        guard let sv = d.subsystemVendorID, let sd = d.subsystemID, sv != 0 || sd != 0 else { return nil }
        return open()?.subsystemName(vendor: d.vendorID, device: d.deviceID, subvendor: sv, subdevice: sd)
    }
}
