import LinuxFiles
import PCITopology
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Every write p2ptop makes to the running kernel's devices, in one place: a driver unbind
/// through sysfs and a config-space register (ACSCtl) through the device's `config` file.
/// The explorer and the lab call these through the protocol; tests give them a fake.
public protocol KernelWrites: Sendable {
    /// Writes the function's name to its driver's `unbind` (blocks while its pages are
    /// pinned). nil when it returned, else the error text.
    func unbindDriver(_ function: BDF) -> String?
    /// Writes a 16-bit config-space register and reads it back (the value the device kept,
    /// nil when the read failed), or the error text.
    func writeConfig16(_ function: BDF, offset: Int, value: UInt16) -> Result<UInt16?, FileError>
}

/// The writes on this machine's sysfs.
public struct SysfsKernelWrites: KernelWrites {
    public init() {}

    public static func unbindPath(_ function: BDF) -> String { "/sys/bus/pci/devices/\(function)/driver/unbind" }

    public func unbindDriver(_ function: BDF) -> String? {
        let path = Self.unbindPath(function)
        let fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return "\(path): " + String(cString: strerror(errno)) }
        defer { close(fd) }
        let text = function.description
        guard write(fd, text, text.utf8.count) == text.utf8.count else { return "the write failed: " + String(cString: strerror(errno)) }
        return nil
    }

    public func writeConfig16(_ function: BDF, offset: Int, value: UInt16) -> Result<UInt16?, FileError> {
        guard offset >= 0, offset <= 4094, offset % 2 == 0 else { return .failure(FileError(message: "config offset 0x\(String(offset, radix: 16)) is not a 16-bit register")) }
        let path = "/sys/bus/pci/devices/\(function)/config"
        let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return .failure(FileError(message: "\(path): " + String(cString: strerror(errno)))) }
        defer { close(fd) }
        var v = value.littleEndian
        guard pwrite(fd, &v, 2, off_t(offset)) == 2 else { return .failure(FileError(message: "pwrite: " + String(cString: strerror(errno)))) }
        var back: UInt16 = 0
        guard pread(fd, &back, 2, off_t(offset)) == 2 else { return .success(nil) }
        return .success(UInt16(littleEndian: back))
    }
}
