#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The kernel's log from now on (`/dev/kmsg`): what the kernel said while p2ptop did
/// something, e.g. p2pdma's reason for refusing a pair. Root, or `dmesg_restrict=0`.
public final class KernelLog {
    private let fd: Int32

    /// Starts reading at the end of the log; nil where /dev/kmsg cannot be read.
    public init?() {
        fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        lseek(fd, 0, SEEK_END)
    }

    deinit { close(fd) }

    /// The messages logged since the last call (each record's text, without its header).
    public func drain() -> [String] {
        var out: [String] = []
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 8192)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer, 8192)
            if n < 0 {
                if errno == EPIPE { continue }   // overwritten records: go on with the next
                break                            // EAGAIN: nothing more
            }
            if n == 0 { break }
            let record = String(decoding: UnsafeBufferPointer(start: buffer, count: n), as: UTF8.self)
            // "prio,seq,usec,flags;text\n" followed by " KEY=value" lines.
            guard let semi = record.firstIndex(of: ";") else { continue }
            let text = record[record.index(after: semi)...].prefix { $0 != "\n" }
            out.append(String(text))
        }
        return out
    }
}
