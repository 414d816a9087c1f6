import KernelErrno
import P2PEngine
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Dispatch
import Synchronization
import LinuxFiles

/// `O_DIRECT` is hidden behind _GNU_SOURCE in Glibc's module; its value per architecture.
#if arch(arm64) || arch(arm)
let O_DIRECT: Int32 = 0o200000
#else
let O_DIRECT: Int32 = 0o40000
#endif

/// Real O_DIRECT I/O on this machine: a file or block device read into host memory (or into a
/// `p2pmem/allocate` mapping where the kernel offers one), or such a buffer written to a new
/// file. The kernel pins the buffer's pages for every I/O; the `/proc/vmstat` delta over the
/// run is reported beside the bytes, and every byte is verified through the page cache.
public enum ODirect {
    public typealias Result = TransferOutcome

    public typealias Destination = RealBuffer.Kind

    /// Bytes done so far and a cancel flag, shared with whoever watches the transfer (the
    /// explorer's Transfers screen); lanes add as their I/Os complete.
    public final class Progress: Sendable {
        public let bytes = Atomic<Int>(0)
        public let cancelled = Atomic<Bool>(false)
        public init() {}
    }

    /// How the queue depth is kept: one thread per I/O in flight (pread/pwrite), or one io_uring,
    /// optionally with the buffer registered once (`IORING_REGISTER_BUFFERS`: a long-term pin of
    /// every page, instead of a pin per I/O).
    public enum Queue: String, Sendable, CaseIterable {
        case threads, ioUring = "io_uring", ioUringFixed = "io_uring-fixed"
    }

    /// `nr_foll_pin_acquired`, `nr_foll_pin_released` now (nil when the kernel has none).
    /// `refresh: true` writes vm/stat_refresh first (root; a write to the kernel, so only where
    /// the user allowed writes), which makes the figures exact; without it they are exact to
    /// the per-CPU batches not yet folded in (see `approximationBound`).
    public static func vmstatPins(root: String = "/", refresh: Bool = false) -> (Int, Int)? {
        // vmstat folds per-CPU deltas lazily, so two reads can be off by a few hundred pages;
        // writing vm/stat_refresh (root) folds them first and makes the delta exact.
        if refresh { _ = refreshVMStat(root: root) }
        return readVMStatPins(root: root)
    }

    /// Writes vm/stat_refresh, folding every CPU's pending vmstat deltas: true only when the
    /// kernel took the write (root; anyone else gets EACCES and the counts stay approximate).
    public static func refreshVMStat(root: String = "/") -> Bool {
        let r = open(root + "proc/sys/vm/stat_refresh", O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        guard r >= 0 else { return false }
        defer { close(r) }
        return Glibc.write(r, "1\n", 2) == 2
    }

    static func readVMStatPins(root: String) -> (Int, Int)? {
        guard let text = FileIO.readString(root + "proc/vmstat") else { return nil }
        var a: Int?, r: Int?
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count == 2 else { continue }
            if f[0] == "nr_foll_pin_acquired" { a = Int(f[1]) }
            if f[0] == "nr_foll_pin_released" { r = Int(f[1]) }
        }
        guard let a, let r else { return nil }
        return (a, r)
    }

    /// How far an unrefreshed vmstat counter can lag: the per-CPU batch (`vm.stat_interval`
    /// folds it at the latest; the batch is at most 125 pages per zone counter) times the CPUs.
    public static func approximationBound(cpus: Int = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) -> Int { 125 * max(1, cpus) }

    static func openError(_ path: String, _ e: Int32) -> EngineError {
        EngineError(Errno(code: e, otherwise: .EFAULT),
                    "\(path): cannot open with O_DIRECT: \(String(cString: strerror(e)))"
                        + (e == EINVAL ? " (the filesystem does not support O_DIRECT; try a file on ext4/xfs)" : "")
                        + (e == EEXIST ? " (p2ptop writes only to a new file: nothing is overwritten)" : ""))
    }

    /// Reads `size` bytes of `path` with O_DIRECT in `block`-sized I/Os, `queueDepth` in flight
    /// (one thread each), then checks every byte against a buffered read of the same range.
    /// `ring`: each lane reuses one block-sized slot (a buffer of queueDepth × block, as dd reuses
    /// its one buffer) instead of landing the whole range in memory; nothing is verified then.
    /// `prefill`: a byte written over the whole destination before the I/O, so that bytes the
    /// device never wrote cannot pass verification by chance (a fresh CMB and an empty disk
    /// are both zeros). Not given: the complement of the source's first byte.
    ///
    /// Memory follows the work, not the size: a read larger than `window` goes through one
    /// window-sized buffer, window after window, each verified before the next is read (the
    /// rate counts the I/O alone). Only a regular file or a block device is read: a FIFO or a
    /// character device is refused before anything waits on it.
    public static func read(path: String, into destination: Destination, size: Int, block: Int, queueDepth: Int, ring: Bool = false,
                            queue: Queue = .threads, progress: Progress? = nil, prefill: UInt8? = nil, window: Int = 64 << 20,
                            exactPins: Bool = false) -> Result {
        var result = Result()
        result.rateSource = .measured
        result.pinsExact = exactPins
        guard block % 4096 == 0, size % 4096 == 0 else { result.error = EngineError(.EINVAL, "size and block must be multiples of 4096 for O_DIRECT"); return result }
        // Opened with O_NONBLOCK and without O_DIRECT first: a FIFO would otherwise block in
        // open() until some writer came. What it is decides; then O_DIRECT is set on the same
        // descriptor (nothing can be swapped in between).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { result.error = openError(path, errno); return result }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFREG || kind == S_IFBLK else {
            result.error = EngineError(.EINVAL, "\(path) is \(kind == S_IFIFO ? "a FIFO" : kind == S_IFCHR ? "a character device" : "not a regular file"): p2ptop reads only regular files and block devices")
            return result
        }
        guard fcntl(fd, F_SETFL, (fcntl(fd, F_GETFL) & ~O_NONBLOCK) | O_DIRECT) == 0 else { result.error = openError(path, errno); return result }
        let available = kind == S_IFBLK ? size : Int(st.st_size)
        guard available >= size else {
            result.error = EngineError(.EINVAL, "\(path) holds \(available) bytes; asked to read \(size)")
            return result
        }
        let target: RealBuffer
        let lanes = max(1, min(queueDepth, (size + block - 1) / block))
        let span = min(size, max(block, window / block * block))
        do { target = try RealBuffer(destination, size: ring ? lanes * block : span) } catch { result.error = error; return result }
        defer { withExtendedLifetime(target) {} }   // the mapping must outlive every use of its base
        var fill = prefill
        if fill == nil {
            var first: UInt8 = 0
            let vfd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            if vfd >= 0 { _ = pread(vfd, &first, 1, 0); close(vfd) }
            fill = ~first
        }
        if ring {
            run(fd, target.base, bufferSize: lanes * block, size: size, block: block, queueDepth: queueDepth, writing: false, ring: true,
                queue: queue, progress: progress, exactPins: exactPins, &result)
            return result
        }
        var total = result
        total.verified = true
        total.pinsExact = exactPins
        var offset = 0
        while offset < size {
            let length = min(span, size - offset)
            if let fill { memset(target.base, Int32(fill), length) }
            var part = Result()
            run(fd, target.base, bufferSize: span, size: length, block: block, queueDepth: queueDepth, writing: false, ring: false,
                queue: queue, progress: progress, fileOffset: offset, exactPins: exactPins, &part)
            if part.error == nil { verify(path, target.base, size: length, fileOffset: offset, &part) }
            total.bytes += part.bytes
            total.seconds += part.seconds
            total.pinsAcquired += part.pinsAcquired
            total.pinsReleased += part.pinsReleased
            total.pinsOutstandingAfter = part.pinsOutstandingAfter
            total.pinsExact = total.pinsExact && part.pinsExact
            total.verified = total.verified && part.verified
            total.uniformSource = offset == 0 ? part.uniformSource : (part.uniformSource == total.uniformSource ? total.uniformSource : nil)
            if let e = part.error { total.error = e; total.verified = false; break }
            offset += length
        }
        return total
    }

    /// Writes `size` bytes from `source` memory (filled with a pattern first) to a new file with
    /// O_DIRECT, then reads the file back through the page cache and compares. Block devices and
    /// existing files are refused: nothing is ever overwritten. A failed write removes its file.
    public static func write(from source: Destination, toNewFile path: String, size: Int, block: Int, queueDepth: Int, queue: Queue = .threads,
                             exactPins: Bool = false) -> Result {
        var result = Result()
        result.rateSource = .measured
        result.pinsExact = exactPins
        guard block % 4096 == 0, size % 4096 == 0 else { result.error = EngineError(.EINVAL, "size and block must be multiples of 4096 for O_DIRECT"); return result }
        var st = stat()
        if stat(path, &st) == 0 {
            result.error = EngineError(.EINVAL, (st.st_mode & S_IFMT) == S_IFBLK ? "\(path) is a block device: p2ptop never writes to one"
                                                                                  : "\(path) exists: p2ptop writes only to a new file (nothing is overwritten)")
            return result
        }
        let buffer: RealBuffer
        do { buffer = try RealBuffer(source, size: size) } catch { result.error = error; return result }
        defer { withExtendedLifetime(buffer) {} }
        var seed: UInt64 = 0x2545_F491_4F6C_DD1D
        for i in stride(from: 0, to: size, by: 8) {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
            buffer.base.storeBytes(of: seed, toByteOffset: i, as: UInt64.self)
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_DIRECT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { result.error = openError(path, errno); return result }
        run(fd, buffer.base, bufferSize: size, size: size, block: block, queueDepth: queueDepth, writing: true, ring: false, queue: queue, progress: nil,
            exactPins: exactPins, &result)
        if result.error == nil && fdatasync(fd) != 0 { result.error = EngineError(.EFAULT, "fdatasync of \(path): \(String(cString: strerror(errno)))") }
        close(fd)
        if result.error == nil { verify(path, buffer.base, size: size, &result) }
        if result.error != nil { unlink(path) }
        return result
    }

    /// The I/O of a transfer with `queueDepth` in flight, and the vmstat pin delta and the time
    /// around it. The last block may be short; `ring` reuses one block-sized slot per I/O in flight.
    static func run(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, bufferSize: Int, size: Int, block: Int, queueDepth: Int,
                    writing: Bool, ring: Bool, queue: Queue, progress: Progress?, fileOffset: Int = 0, exactPins: Bool, _ result: inout Result) {
        // Exact only when both refreshes were taken: an unprivileged user's --allow-write is
        // refused by the kernel (EACCES), and the counts then say they are approximate.
        var refreshed = exactPins && refreshVMStat()
        let before = readVMStatPins(root: "/")
        var error: EngineError?
        var seconds = 0.0
        switch queue {
        case .threads:
            (seconds, error) = threads(fd, buffer, size: size, block: block, queueDepth: queueDepth, writing: writing, ring: ring, progress: progress,
                                       fileOffset: fileOffset)
        case .ioUring, .ioUringFixed:
            do throws(EngineError) {
                seconds = try uring(fd, buffer, bufferSize: bufferSize, size: size, block: block, queueDepth: queueDepth,
                                    writing: writing, ring: ring, fixed: queue == .ioUringFixed, progress: progress, fileOffset: fileOffset)
            } catch let e { error = e }
        }
        refreshed = refreshed && refreshVMStat()
        let after = readVMStatPins(root: "/")
        result.pinsExact = refreshed
        result.seconds = seconds
        if let error { result.error = error; return }
        result.bytes = size
        if let b = before, let a = after {
            result.pinsAcquired = a.0 - b.0
            result.pinsReleased = a.1 - b.1
            result.pinsOutstandingAfter = max(0, a.0 - a.1)   // the two counters fold apart: never below 0
        }
    }

    static func ioError(_ err: Int32, _ writing: Bool) -> EngineError {
        if err == ECANCELED { return EngineError(.ECANCELED, "cancelled") }
        return EngineError(Errno(code: err, otherwise: .EINVAL),
                    "O_DIRECT \(writing ? "write" : "read") failed: \(String(cString: strerror(err)))")
    }

    /// One thread per I/O in flight: lane k does blocks k, k+qd, …
    static func threads(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, size: Int, block: Int, queueDepth: Int,
                        writing: Bool, ring: Bool, progress: Progress?, fileOffset: Int = 0) -> (Double, EngineError?) {
        let blocks = (size + block - 1) / block
        let qd = max(1, min(queueDepth, blocks))
        let failuresBase = UnsafeMutablePointer<Int32>.allocate(capacity: qd)
        failuresBase.initialize(repeating: 0, count: qd)
        defer { failuresBase.deallocate() }
        let failuresAddress = UInt(bitPattern: failuresBase)   // each lane writes only its own slot
        let base = UInt(bitPattern: buffer)
        let start = Monotonic.seconds()
        DispatchQueue.concurrentPerform(iterations: qd) { lane in
            var b = lane
            let memory = UnsafeMutableRawPointer(bitPattern: base)!
            let failures = UnsafeMutablePointer<Int32>(bitPattern: failuresAddress)!
            while b < blocks {
                if progress?.cancelled.load(ordering: .relaxed) == true { failures[lane] = ECANCELED; return }
                let length = min(block, size - b * block)
                var done = 0
                while done < length {
                    let at = b * block + done
                    let slot = memory + (ring ? lane * block + done : at)
                    let n = writing ? pwrite(fd, slot, length - done, off_t(fileOffset + at)) : pread(fd, slot, length - done, off_t(fileOffset + at))
                    if n < 0 { if errno == EINTR { continue }; failures[lane] = errno; return }
                    if n == 0 { failures[lane] = EIO; return }
                    done += n
                    progress?.bytes.add(n, ordering: .relaxed)
                }
                b += qd
            }
        }
        let seconds = Monotonic.seconds() - start
        if let err = (0..<qd).map({ failuresBase[$0] }).first(where: { $0 != 0 }) { return (seconds, ioError(err, writing)) }
        return (seconds, nil)
    }

    /// One io_uring with `queueDepth` I/Os in flight; short transfers are resubmitted for the
    /// rest. With `fixed`, the whole buffer is registered first (outside the timed part).
    static func uring(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, bufferSize: Int, size: Int, block: Int, queueDepth: Int,
                      writing: Bool, ring: Bool, fixed: Bool, progress watcher: Progress?, fileOffset: Int = 0) throws(EngineError) -> Double {
        let blocks = (size + block - 1) / block
        let qd = max(1, min(queueDepth, blocks))
        let uring = try IOUring(entries: qd)
        if fixed { try uring.register(buffer: buffer, length: bufferSize) }
        defer { if fixed { uring.unregisterBuffers() } }
        var progress = [Int](repeating: 0, count: blocks)
        var slotOf = [Int](repeating: 0, count: blocks)
        var freeSlots = Array((0..<qd).reversed())
        func queue(_ b: Int) {
            let at = b * block + progress[b]
            let length = min(block, size - b * block) - progress[b]
            let address = buffer + (ring ? slotOf[b] * block + progress[b] : at)
            _ = uring.queue(write: writing, fd: fd, address: address, length: length, offset: fileOffset + at, userData: UInt64(b), fixed: fixed)
        }
        var next = 0, inFlight = 0, done = 0
        let start = Monotonic.seconds()
        while done < blocks {
            if watcher?.cancelled.load(ordering: .relaxed) == true { throw ioError(ECANCELED, writing) }
            while inFlight < qd && next < blocks {
                slotOf[next] = freeSlots.removeLast()
                queue(next)
                next += 1; inFlight += 1
            }
            try uring.submit(waitFor: 1)
            for c in uring.reap() {
                let b = Int(c.userData)
                if c.result < 0 { throw ioError(-c.result, writing) }
                if c.result == 0 { throw ioError(EIO, writing) }
                progress[b] += Int(c.result)
                watcher?.bytes.add(Int(c.result), ordering: .relaxed)
                if progress[b] < min(block, size - b * block) { queue(b); continue }
                freeSlots.append(slotOf[b])
                inFlight -= 1; done += 1
            }
        }
        return Monotonic.seconds() - start
    }

    /// Reads `path` through the page cache and compares it with `memory`, 1 MiB at a time.
    /// The memory is read through a pipe, not touched directly: a p2pmem mapping whose provider
    /// was unbound meanwhile has no pages left, and the kernel then answers EFAULT where a load
    /// would have killed p2ptop with SIGBUS (seen in the kernel lab).
    static func verify(_ path: String, _ memory: UnsafeMutableRawPointer, size: Int, fileOffset: Int = 0, _ result: inout Result) {
        let vfd = open(path, O_RDONLY | O_CLOEXEC)
        guard vfd >= 0 else { return }
        defer { close(vfd) }
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else { return }
        defer { close(pipeFDs[0]); close(pipeFDs[1]) }
        let step = 64 << 10   // a pipe's default capacity
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: step, alignment: 4096)
        let copy = UnsafeMutableRawPointer.allocate(byteCount: step, alignment: 4096)
        defer { chunk.deallocate(); copy.deallocate() }
        var pos = 0
        var uniform: UInt8? = nil
        var first = true
        while pos < size {
            let want = min(step, size - pos)
            var got = 0
            while got < want {
                let n = pread(vfd, chunk + got, want - got, off_t(fileOffset + pos + got))
                if n <= 0 { return }
                got += n
            }
            let w = Glibc.write(pipeFDs[1], memory + pos, want)
            guard w == want else {
                result.error = EngineError(.EFAULT, w < 0 && errno == EFAULT
                    ? "the memory went away during verification at offset \(pos) (its provider was unbound?)" : "verification could not read the memory")
                return
            }
            var r = 0
            while r < want {
                let n = Glibc.read(pipeFDs[0], copy + r, want - r)
                if n <= 0 { return }
                r += n
            }
            if memcmp(chunk, copy, want) != 0 {
                result.error = EngineError(.EFAULT, "verification failed at offset \(fileOffset + pos)")
                return
            }
            // Is the source one byte value throughout? (each chunk equal to itself shifted by one)
            let b = chunk.load(as: UInt8.self)
            if first { uniform = b; first = false }
            if let u = uniform, !(b == u && (want < 2 || memcmp(chunk, chunk + 1, want - 1) == 0)) { uniform = nil }
            pos += want
        }
        result.verified = true
        result.uniformSource = uniform
    }
}
