#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opening files for the code that then maps or writes the descriptor itself (p2pmem/allocate,
/// a new disk image); reads go through `FileIO.read` and `readPrefix`. Every open adds `O_CLOEXEC`; the
/// error says the path and the reason.
extension FileIO {
    public enum OpenMode: Sendable {
        /// Reading and writing an existing file (a mapping of p2pmem/allocate).
        case readWrite
        /// A new file only: `O_CREAT|O_EXCL|O_NOFOLLOW`, so a name planted first is never written through.
        case createNew(mode: mode_t)
    }

    /// An open descriptor the caller closes, or why there is none.
    public static func openDescriptor(_ path: String, _ mode: OpenMode) -> Result<Int32, FileError> {
        let fd: Int32
        switch mode {
        case .readWrite: fd = Glibc.open(path, O_RDWR | O_CLOEXEC)
        case .createNew(let m): fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, m)
        }
        guard fd >= 0 else { return .failure(FileError(path: path, errno: errno)) }
        return .success(fd)
    }
}

extension FileError {
    /// `path: reason` (ENOENT as "no such file or directory").
    public init(path: String, errno code: Int32) {
        self.init(message: path + ": " + String(cString: strerror(code)))
        self.errno = code
    }
}
