import P2PDMA

/// `ibv_reg_mr` access flags (`enum ibv_access_flags`).
public struct MRAccess: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let localWrite = MRAccess(rawValue: 1)
    public static let remoteWrite = MRAccess(rawValue: 1 << 1)
    public static let remoteRead = MRAccess(rawValue: 1 << 2)
    public static let remoteAtomic = MRAccess(rawValue: 1 << 3)

    /// `ib_access_writable`: the device may write, so the pages are pinned FOLL_WRITE.
    public var writable: Bool { !isDisjoint(with: [.localWrite, .remoteWrite, .remoteAtomic]) }
}

extension Engine {
    /// `ibv_reg_mr` → `ib_umem_get()` (every RDMA driver): FOLL_PIN | FOLL_LONGTERM, plus
    /// FOLL_WRITE for a writable MR, never FOLL_PCI_P2PDMA. A short pin is undone and refused.
    public func registerMR(_ v: VMA, access: MRAccess) throws(EngineError) -> [PageRef] {
        var flags: FOLL = [.PIN, .LONGTERM]
        if access.writable { flags.insert(.WRITE) }
        let n = v.length / PAGE_SIZE
        let pages = try getUserPages(v.start, pages: n, flags: flags)
        guard pages.count == n else {
            putUserPages(pages)
            throw EngineError(.EFAULT, "ibv_reg_mr pinned only \(pages.count) of \(n) pages")
        }
        return pages
    }

    /// `IORING_REGISTER_BUFFERS` (`io_pin_pages`): FOLL_WRITE | FOLL_LONGTERM pins of the whole
    /// buffer, once; the I/Os that use it take no pins of their own.
    public func registerIOUringBuffer(_ v: VMA) throws(EngineError) -> [PageRef] {
        let n = v.length / PAGE_SIZE
        let pages = try getUserPages(v.start, pages: n, flags: [.PIN, .LONGTERM, .WRITE])
        guard pages.count == n else {
            putUserPages(pages)
            throw EngineError(.EFAULT, "IORING_REGISTER_BUFFERS pinned only \(pages.count) of \(n) pages")
        }
        return pages
    }
}

/// What each RDMA driver implements, where the answer depends on the driver and not on the
/// GUP core.
public enum RDMADriverModel {
    /// Drivers whose `ib_device_ops` have `reg_user_mr_dmabuf`, read in the 6.12 source
    /// (`drivers/infiniband/hw/*`): without it `ibv_reg_dmabuf_mr` is -EOPNOTSUPP (rxe and
    /// siw among them; the lab's rxe answered exactly that). The verb itself came in 5.12.
    public static let dmabufMRDrivers: Set<String> = ["mlx5", "efa", "irdma", "bnxt_re"]

    /// nil: the verb does not exist on that kernel.
    public static func supportsDmabufMR(driver: String, kernel: KernelVersion) -> Bool? {
        guard kernel >= KernelVersion(5, 12) else { return nil }
        return dmabufMRDrivers.contains(driver.hasSuffix("_core") ? String(driver.dropLast(5)) : driver)
    }
}
