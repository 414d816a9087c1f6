#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Dispatch

/// `O_DIRECT` is hidden behind _GNU_SOURCE in Glibc's module; its value per architecture.
#if arch(arm64) || arch(arm)
let O_DIRECT: Int32 = 0o200000
#else
let O_DIRECT: Int32 = 0o40000
#endif

/// Real O_DIRECT reads on this machine: a file or block device into host memory (or into a
/// `p2pmem/allocate` mapping where the kernel offers one). The kernel pins the buffer's pages
/// for every I/O; the `/proc/vmstat` delta over the run is reported beside the bytes.
public enum ODirect {
    public struct Result: Sendable {
        public var bytes = 0
        public var seconds = 0.0
        public var verified = false
        public var pinsAcquired = 0
        public var pinsReleased = 0
        public var outstandingAfter = 0
        public var error: EngineError?
        public var gbps: Double { seconds > 0 ? Double(bytes) / seconds / 1e9 : 0 }
    }

    public enum Destination: Sendable { case host, p2pmem(String) }

    /// `nr_foll_pin_acquired`, `nr_foll_pin_released` now (nil when the kernel has none).
    public static func vmstatPins(root: String = "/") -> (Int, Int)? {
        // vmstat folds per-CPU deltas lazily, so two reads can be off by a few hundred pages;
        // writing vm/stat_refresh (root) folds them first and makes the delta exact.
        if let r = fopen(root + "proc/sys/vm/stat_refresh", "w") { fputs("1\n", r); fclose(r) }
        guard let f = fopen(root + "proc/vmstat", "r") else { return nil }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        var a: Int?, r: Int?
        while fgets(&line, 256, f) != nil {
            let s = String(cString: line)
            if s.hasPrefix("nr_foll_pin_acquired ") { a = Int(s.split(separator: " ")[1].filter(\.isNumber)) }
            if s.hasPrefix("nr_foll_pin_released ") { r = Int(s.split(separator: " ")[1].filter(\.isNumber)) }
        }
        guard let a, let r else { return nil }
        return (a, r)
    }

    static func now() -> Double {
        var ts = timespec(); clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Reads `size` bytes of `path` with O_DIRECT in `block`-sized I/Os, `queueDepth` in flight
    /// (one thread each), then checks every byte against a buffered read of the same range.
    public static func read(path: String, into destination: Destination, size: Int, block: Int, queueDepth: Int) -> Result {
        var result = Result()
        let fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            result.error = EngineError(e == EINVAL ? .EINVAL : .EFAULT, "\(path): cannot open with O_DIRECT: \(String(cString: strerror(e)))" + (e == EINVAL ? " (the filesystem does not support O_DIRECT; try a file on ext4/xfs)" : ""))
            return result
        }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let available = (st.st_mode & S_IFMT) == S_IFBLK ? size : Int(st.st_size)
        guard available >= size else {
            result.error = EngineError(.EINVAL, "\(path) holds \(available) bytes; asked to read \(size)")
            return result
        }
        guard block % 4096 == 0, size % 4096 == 0 else { result.error = EngineError(.EINVAL, "size and block must be multiples of 4096 for O_DIRECT"); return result }
        let target: RealBuffer
        do {
            switch destination {
            case .host: target = try RealBuffer(.host, size: size)
            case .p2pmem(let bdf): target = try RealBuffer(.p2pmem(bdf), size: size)
            }
        } catch { result.error = error; return result }
        defer { withExtendedLifetime(target) {} }   // the mapping must outlive every use of `buffer`
        let buffer = target.base

        let before = vmstatPins()
        let blocks = size / block
        let qd = max(1, min(queueDepth, blocks))
        let failuresBase = UnsafeMutablePointer<Int32>.allocate(capacity: qd)
        failuresBase.initialize(repeating: 0, count: qd)
        defer { failuresBase.deallocate() }
        let failuresAddress = UInt(bitPattern: failuresBase)   // each lane writes only its own slot
        let base = UInt(bitPattern: buffer)
        let start = now()
        DispatchQueue.concurrentPerform(iterations: qd) { lane in
            var b = lane
            let dst = UnsafeMutableRawPointer(bitPattern: base)!
            let failures = UnsafeMutablePointer<Int32>(bitPattern: failuresAddress)!
            while b < blocks {
                var done = 0
                while done < block {
                    let n = pread(fd, dst + b * block + done, block - done, off_t(b * block + done))
                    if n < 0 { if errno == EINTR { continue }; failures[lane] = errno; return }
                    if n == 0 { failures[lane] = EIO; return }
                    done += n
                }
                b += qd
            }
        }
        result.seconds = now() - start
        let after = vmstatPins()
        if let err = (0..<qd).map({ failuresBase[$0] }).first(where: { $0 != 0 }) {
            result.error = EngineError(err == EREMOTEIO ? .EREMOTEIO : err == EFAULT ? .EFAULT : .EINVAL, "O_DIRECT read failed: \(String(cString: strerror(err)))")
            return result
        }
        result.bytes = size
        if let b = before, let a = after {
            result.pinsAcquired = a.0 - b.0
            result.pinsReleased = a.1 - b.1
            result.outstandingAfter = a.0 - a.1
        }
        // Verify: read the same range through the page cache and compare.
        let vfd = open(path, O_RDONLY | O_CLOEXEC)
        guard vfd >= 0 else { return result }
        defer { close(vfd) }
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { chunk.deallocate() }
        var pos = 0
        while pos < size {
            let want = min(1 << 20, size - pos)
            var got = 0
            while got < want {
                let n = pread(vfd, chunk + got, want - got, off_t(pos + got))
                if n <= 0 { return result }
                got += n
            }
            if memcmp(chunk, buffer + pos, want) != 0 {
                result.error = EngineError(.EFAULT, "verification failed at offset \(pos)")
                return result
            }
            pos += want
        }
        result.verified = true
        return result
    }
}
