import KernelErrno
import P2PEngine
@preconcurrency import CVerbs
import LinuxFiles
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// One memory registration and nothing else: `ibv_reg_mr` with the access flags asked for, or
/// `ibv_reg_dmabuf_mr` for a dma-buf, on the first RDMA device — what the kernel answers, and
/// what it pinned while the MR existed.
public enum VerbsRegistration {
    public struct Result: Sendable {
        public var device = ""
        /// nil: registered.
        public var error: EngineError?
        /// VmPin grew by this much while the MR was registered (kB).
        public var vmPinKB = 0
        /// /proc/vmstat FOLL_PIN pins acquired and released around the registration.
        public var pinsAcquired = 0
        public var pinsReleased = 0
    }

    public static func probe(device name: String? = nil, target kind: RealBuffer.Kind, size: Int, writable: Bool) -> Result {
        var result = Result()
        do { try register(name, kind, size, writable, &result) } catch { result.error = error }
        return result
    }

    static func register(_ name: String?, _ kind: RealBuffer.Kind, _ size: Int, _ writable: Bool, _ result: inout Result) throws(EngineError) {
        var count: Int32 = 0
        guard let list = ibv_get_device_list(&count) else { throw VerbsLoopback.fail("ibv_get_device_list", errno) }
        defer { ibv_free_device_list(list) }
        let devices = (0..<Int(count)).compactMap { list[$0] }
        guard let dev = devices.first(where: { name == nil || String(cString: ibv_get_device_name($0)) == name }) else {
            throw EngineError(.ENODEV, name.map { "no RDMA device \($0)" } ?? "no RDMA device (rdma link add rxe0 type rxe netdev IFACE makes a soft-RoCE one)")
        }
        result.device = String(cString: ibv_get_device_name(dev))
        guard let ctx = ibv_open_device(dev) else { throw VerbsLoopback.fail("ibv_open_device", errno) }
        defer { ibv_close_device(ctx) }
        guard let pd = ibv_alloc_pd(ctx) else { throw VerbsLoopback.fail("ibv_alloc_pd", errno) }
        defer { ibv_dealloc_pd(pd) }
        let buffer = try RealBuffer(kind, size: size)
        defer { withExtendedLifetime(buffer) {} }
        let access = writable ? Int32(IBV_ACCESS_LOCAL_WRITE.rawValue | IBV_ACCESS_REMOTE_WRITE.rawValue) : 0
        let pinBefore = VerbsLoopback.vmPinKB()
        let before = ODirect.vmstatPins()
        let mr: UnsafeMutablePointer<ibv_mr>? = buffer.dmabufFD.map {
            ibv_reg_dmabuf_mr(pd, 0, size, UInt64(UInt(bitPattern: buffer.base)), $0, access)
        } ?? ibv_reg_mr(pd, buffer.base, size, access)
        let e = errno
        result.vmPinKB = VerbsLoopback.vmPinKB() - pinBefore
        if let mr { ibv_dereg_mr(mr) }
        if let b = before, let a = ODirect.vmstatPins() { result.pinsAcquired = a.0 - b.0; result.pinsReleased = a.1 - b.1 }
        guard mr != nil else {
            throw VerbsLoopback.fail("\(buffer.dmabufFD == nil ? "ibv_reg_mr" : "ibv_reg_dmabuf_mr")(\(kind.description), \(writable ? "writable" : "read-only"))", e)
        }
    }
}
