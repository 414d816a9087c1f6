import KernelErrno
import P2PEngine
import LinuxFiles
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PCITopology

/// The real BAR accesses `BARAccessPolicy` allows: MMIO reads and pattern writes through
/// `/sys/bus/pci/devices/BDF/resourceN`.
public enum BARAccess {
    /// MMIO read bandwidth of `resourceN`: mapped read-only, `size` bytes read with 8-byte loads.
    public static func readBandwidth(device: BDF, bar: Int, size: Int) throws(EngineError) -> Double {
        try readBandwidth(path: "/sys/bus/pci/devices/\(device)/resource\(bar)", size: size)
    }

    static func map(_ path: String, size: Int, writable: Bool) throws(EngineError) -> (UnsafeMutableRawPointer, Int32) {
        let fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError(.EPERM, "\(path): \(String(cString: strerror(errno)))") }
        guard let p = mmap(nil, size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0), p != MAP_FAILED else {
            let e = errno
            close(fd)
            throw EngineError(.EINVAL, "mmap of \(path): \(String(cString: strerror(e)))")
        }
        return (p, fd)
    }

    static func seconds(_ body: () -> Void) -> Double { Monotonic.time(body) }

    static func readBandwidth(path: String, size: Int) throws(EngineError) -> Double {
        let (p, fd) = try map(path, size: size, writable: false)
        defer { munmap(p, size); close(fd) }
        let words = p.assumingMemoryBound(to: UInt64.self)
        var sum: UInt64 = 0
        let secs = seconds { for i in 0..<(size / 8) { sum &+= words[i] } }
        withExtendedLifetime(sum) {}
        return secs > 0 ? Double(size) / secs / 1e9 : 0
    }

    public struct WriteResult: Sendable, Equatable {
        public var writeGBps: Double
        public var verified: Bool
        public var restored: Bool
    }

    /// MMIO write bandwidth of `resourceN` (or `resourceN_wc`, write-combined, where it exists):
    /// the original contents are saved, a pattern is stored with 8-byte writes and read back,
    /// then the original is written back and checked. Only called once `check` allowed it.
    public static func writeTest(device: BDF, bar: Int, size: Int, writeCombining: Bool) throws(EngineError) -> WriteResult {
        try writeTest(path: "/sys/bus/pci/devices/\(device)/resource\(bar)" + (writeCombining ? "_wc" : ""), size: size)
    }

    static func writeTest(path: String, size: Int) throws(EngineError) -> WriteResult {
        let (p, fd) = try map(path, size: size, writable: true)
        defer { munmap(p, size); close(fd) }
        let n = size / 8
        let bar = p.assumingMemoryBound(to: UInt64.self)
        let saved = UnsafeMutablePointer<UInt64>.allocate(capacity: n)
        defer { saved.deallocate() }
        for i in 0..<n { saved[i] = bar[i] }
        func pattern(_ i: Int) -> UInt64 { UInt64(i) &* 0x9E37_79B9_7F4A_7C15 ^ 0xA5A5_5A5A_0F0F_F0F0 }
        let secs = seconds { for i in 0..<n { bar[i] = pattern(i) } }
        var verified = true
        for i in 0..<n where bar[i] != pattern(i) { verified = false; break }   // the read also flushes posted writes
        for i in 0..<n { bar[i] = saved[i] }
        var restored = true
        for i in 0..<n where bar[i] != saved[i] { restored = false; break }
        return WriteResult(writeGBps: secs > 0 ? Double(size) / secs / 1e9 : 0, verified: verified, restored: restored)
    }
}
