import KernelErrno
import P2PEngine
@preconcurrency import CIOUring
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A minimal io_uring: one submission and one completion ring, reads and writes (optionally on
/// a registered buffer). Single-threaded; the kernel is the only other party. Setup fails
/// cleanly (ENOSYS, EPERM under a seccomp policy) and the caller says why.
final class IOUring {
    let fd: Int32
    private let sqRing: UnsafeMutableRawPointer, sqRingSize: Int
    private let cqRing: UnsafeMutableRawPointer, cqRingSize: Int
    private let sqes: UnsafeMutablePointer<io_uring_sqe>, sqesSize: Int
    private let sqHead, sqTail, sqMask, sqArray: UnsafeMutablePointer<UInt32>
    private let cqHead, cqTail, cqMask: UnsafeMutablePointer<UInt32>
    private let cqes: UnsafeMutablePointer<io_uring_cqe>
    let entries: Int
    private var pendingSubmit: UInt32 = 0

    struct Completion { var userData: UInt64; var result: Int32 }

    init(entries requested: Int) throws(EngineError) {
        var p = io_uring_params()
        let f = p2p_io_uring_setup(UInt32(requested), &p)
        guard f >= 0 else {
            let e = errno
            throw EngineError(e == ENOSYS ? .EOPNOTSUPP : .EPERM, "io_uring_setup: \(String(cString: strerror(e)))"
                              + (e == EPERM || e == ENOSYS ? " (io_uring disabled here: kernel.io_uring_disabled, seccomp or CONFIG_IO_URING off)" : ""))
        }
        fd = f
        entries = Int(p.sq_entries)
        let single = p.features & UInt32(IORING_FEAT_SINGLE_MMAP) != 0
        var sqSize = Int(p.sq_off.array) + Int(p.sq_entries) * 4
        var cqSize = Int(p.cq_off.cqes) + Int(p.cq_entries) * MemoryLayout<io_uring_cqe>.stride
        if single { sqSize = max(sqSize, cqSize); cqSize = sqSize }
        func map(_ size: Int, _ offset: UInt64) -> UnsafeMutableRawPointer? {
            guard let m = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, f, off_t(offset)), m != MAP_FAILED else { return nil }
            return m
        }
        guard let sq = map(sqSize, UInt64(IORING_OFF_SQ_RING)) else { close(f); throw EngineError(.ENOMEM, "io_uring: cannot map the SQ ring") }
        let cq: UnsafeMutableRawPointer
        if single { cq = sq } else {
            guard let c = map(cqSize, UInt64(IORING_OFF_CQ_RING)) else { munmap(sq, sqSize); close(f); throw EngineError(.ENOMEM, "io_uring: cannot map the CQ ring") }
            cq = c
        }
        let sqeBytes = Int(p.sq_entries) * MemoryLayout<io_uring_sqe>.stride
        guard let s = map(sqeBytes, UInt64(IORING_OFF_SQES)) else {
            munmap(sq, sqSize); if !single { munmap(cq, cqSize) }; close(f)
            throw EngineError(.ENOMEM, "io_uring: cannot map the SQEs")
        }
        sqRing = sq; sqRingSize = sqSize; cqRing = cq; cqRingSize = cqSize
        sqes = s.bindMemory(to: io_uring_sqe.self, capacity: Int(p.sq_entries)); sqesSize = sqeBytes
        func u32(_ base: UnsafeMutableRawPointer, _ off: UInt32) -> UnsafeMutablePointer<UInt32> { (base + Int(off)).assumingMemoryBound(to: UInt32.self) }
        sqHead = u32(sq, p.sq_off.head); sqTail = u32(sq, p.sq_off.tail); sqMask = u32(sq, p.sq_off.ring_mask); sqArray = u32(sq, p.sq_off.array)
        cqHead = u32(cq, p.cq_off.head); cqTail = u32(cq, p.cq_off.tail); cqMask = u32(cq, p.cq_off.ring_mask)
        cqes = (cq + Int(p.cq_off.cqes)).bindMemory(to: io_uring_cqe.self, capacity: Int(p.cq_entries))
    }

    deinit {
        munmap(sqes, sqesSize)
        if cqRing != sqRing { munmap(cqRing, cqRingSize) }
        munmap(sqRing, sqRingSize)
        close(fd)
    }

    /// Registers one buffer as fixed buffer 0: the kernel pins its pages once, long-term
    /// (FOLL_LONGTERM, counted in VmPin), instead of per I/O.
    func register(buffer: UnsafeMutableRawPointer, length: Int) throws(EngineError) {
        var iov = iovec(iov_base: buffer, iov_len: length)
        guard p2p_io_uring_register_buffers(fd, &iov, 1) == 0 else {
            let e = errno
            throw EngineError(Errno(code: e, otherwise: .EFAULT), "IORING_REGISTER_BUFFERS: \(String(cString: strerror(e)))"
                              + (e == ENOMEM ? " (RLIMIT_MEMLOCK below the buffer size)" : "")
                              + (e == EFAULT || e == EREMOTEIO || e == EOPNOTSUPP ? " (long-term pins of this memory are refused)" : ""))
        }
    }

    func unregisterBuffers() { _ = p2p_io_uring_unregister_buffers(fd) }

    /// Queues one read or write; false when the submission ring is full.
    func queue(write: Bool, fd file: Int32, address: UnsafeMutableRawPointer, length: Int, offset: Int, userData: UInt64, fixed: Bool) -> Bool {
        let tail = sqTail.pointee
        guard tail &- p2p_load_acquire(sqHead) < UInt32(entries) else { return false }
        let index = tail & sqMask.pointee
        p2p_prep_rw(sqes + Int(index), write ? 1 : 0, file, address, UInt32(length), UInt64(offset), userData, fixed ? 0 : -1)
        sqArray[Int(index)] = index
        p2p_store_release(sqTail, tail &+ 1)
        pendingSubmit += 1
        return true
    }

    /// Submits what is queued and waits for at least `waitFor` completions.
    func submit(waitFor: Int) throws(EngineError) {
        while true {
            let r = p2p_io_uring_enter(fd, pendingSubmit, UInt32(waitFor), waitFor > 0 ? UInt32(IORING_ENTER_GETEVENTS) : 0)
            if r >= 0 { pendingSubmit -= UInt32(r); return }
            if errno == EINTR { continue }
            throw EngineError(.EIO, "io_uring_enter: \(String(cString: strerror(errno)))")
        }
    }

    /// Takes every completion that is ready.
    func reap() -> [Completion] {
        var head = cqHead.pointee
        let tail = p2p_load_acquire(cqTail)
        var out: [Completion] = []
        while head != tail {
            let c = cqes[Int(head & cqMask.pointee)]
            out.append(Completion(userData: c.user_data, result: c.res))
            head &+= 1
        }
        p2p_store_release(cqHead, head)
        return out
    }
}
