import CPCI
import PCITopology

/// One libpci session (`pci_access`) whose fatal errors come back as Swift errors: the C
/// shim installs a handler that longjmps out of libpci instead of calling exit().
/// The `pci_access *` never leaves this file.
final class LibPCISession {
    private var access: UnsafeMutablePointer<pci_access>?
    private let label: String

    /// - Parameters:
    ///   - method: a `P2P_ACCESS_*` constant.
    ///   - params: libpci parameters (`sysfs.path`, `hwdb.disable`, …).
    ///   - label: the file or directory named in error messages.
    init(method: Int32, params: [String: String], label: String) throws(SourceError) {
        self.label = label
        guard let a = p2p_alloc() else { throw SourceError(file: label, "libpci: out of memory") }
        access = a
        a.pointee.method = UInt32(method)
        for (k, v) in params where p2p_set_param(a, k, v) != 0 {
            close()
            throw SourceError(file: label, "libpci does not know the parameter \(k)")
        }
        guard p2p_init_safe(a) == 0 else {
            let message = LibPCISession.lastError()
            abandon()
            throw SourceError(file: label, "libpci: \(message)")
        }
    }

    deinit { close() }

    static func lastError() -> String { String(cString: p2p_last_error()) }

    /// After a libpci error the access structure may be half-initialised: leak it rather
    /// than risk a second error inside pci_cleanup.
    private func abandon() { access = nil }

    func close() {
        if let a = access { _ = p2p_cleanup_safe(a) }
        access = nil
    }

    struct RawDevice {
        var bdf: BDF
        var config: [UInt8]
        var resources: [OSResource]?
    }

    /// Scans the bus and reads each function's config space (as much as is readable:
    /// 4096, 256 or 64 bytes) and, where the back end knows them, BAR bases and sizes.
    /// - Parameter configLength: the expected readable length per function (a sysfs `config`
    ///   file's size), tried first; 4096, 256 and 64 follow.
    func scan(configLength: (BDF) -> Int? = { _ in nil }) throws(SourceError) -> [RawDevice] {
        guard let a = access else { throw SourceError(file: label, "libpci session closed") }
        guard p2p_scan_bus_safe(a) == 0 else {
            let message = LibPCISession.lastError()
            abandon()
            throw SourceError(file: label, "libpci: \(message)")
        }
        var result: [RawDevice] = []
        var dev = a.pointee.devices
        let flags = PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_BASES | PCI_FILL_SIZES | PCI_FILL_IO_FLAGS
        while let d = dev {
            var known: Int32 = 0
            guard p2p_fill_info_safe(d, flags, &known) == 0 else {
                let message = LibPCISession.lastError()
                abandon()
                throw SourceError(file: label, "libpci: \(message)")
            }
            let bdf = BDF(domain: UInt32(bitPattern: d.pointee.domain), bus: d.pointee.bus,
                          device: d.pointee.dev, function: d.pointee.func)
            let config = try readConfig(d, first: configLength(bdf))
            var resources: [OSResource]?
            if known & PCI_FILL_BASES != 0 {
                let bases = withUnsafeBytes(of: d.pointee.base_addr) { Array($0.bindMemory(to: UInt64.self)) }
                let sizes = known & PCI_FILL_SIZES != 0
                    ? withUnsafeBytes(of: d.pointee.size) { Array($0.bindMemory(to: UInt64.self)) }
                    : [UInt64](repeating: 0, count: 6)
                let flags = known & PCI_FILL_IO_FLAGS != 0
                    ? withUnsafeBytes(of: d.pointee.flags) { Array($0.bindMemory(to: UInt64.self)) }
                    : [UInt64](repeating: 0, count: 6)
                resources = (0..<6).map { OSResource(base: bases[$0], size: sizes[$0], flags: flags[$0]) }
            }
            result.append(RawDevice(bdf: bdf, config: config, resources: resources))
            dev = d.pointee.next
        }
        return result
    }

    /// The largest readable prefix of config space among 4096, 256 and 64 bytes.
    private func readConfig(_ d: UnsafeMutablePointer<pci_dev>, first: Int?) throws(SourceError) -> [UInt8] {
        var lengths = [4096, 256, 64]
        if let first, first >= 64, first <= 4096 { lengths = [first] + lengths.filter { $0 < first } }
        for length in lengths {
            var buf = [UInt8](repeating: 0xff, count: length)
            var ok: Int32 = 0
            guard p2p_read_block_safe(d, 0, &buf, Int32(length), &ok) == 0 else {
                let message = LibPCISession.lastError()
                abandon()
                throw SourceError(file: label, "libpci: \(message)")
            }
            if ok != 0 { return buf }
        }
        return []
    }

    // MARK: names

    func vendorName(_ vendor: UInt16) -> String? {
        lookup { p2p_lookup_vendor($0, $1, $2, Int32(vendor)) }
    }

    func deviceName(vendor: UInt16, device: UInt16) -> String? {
        lookup { p2p_lookup_device($0, $1, $2, Int32(vendor), Int32(device)) }
    }

    func className(_ classCode: UInt16) -> String? {
        lookup { p2p_lookup_class($0, $1, $2, Int32(classCode)) }
    }

    func subsystemName(vendor: UInt16, device: UInt16, subvendor: UInt16, subdevice: UInt16) -> String? {
        lookup { p2p_lookup_subsystem($0, $1, $2, Int32(vendor), Int32(device), Int32(subvendor), Int32(subdevice)) }
    }

    private func lookup(_ call: (UnsafeMutablePointer<pci_access>, UnsafeMutablePointer<CChar>, Int32) -> UnsafeMutablePointer<CChar>?) -> String? {
        guard let a = access else { return nil }
        var buf = [CChar](repeating: 0, count: 256)
        return buf.withUnsafeMutableBufferPointer { b in
            call(a, b.baseAddress!, Int32(b.count)).map { String(cString: $0) }
        }
    }
}
