#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Minimal file access without Foundation (keeps start-up fast): procfs and sysfs attributes,
/// directory listings, links, whole files, mappings. Shared by every module that reads the machine.
public enum FileIO {
    /// Whole file as bytes; nil with errno text on failure. Only regular files: a FIFO (opened
    /// without blocking, so a missing writer cannot hang p2ptop), a directory, a socket or a
    /// device such as /dev/zero is refused before anything is read. `limit` bounds a file that
    /// grows while it is read, too.
    public static func read(_ path: String, limit: Int = 512 << 20) -> Result<[UInt8], FileError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .failure(FileError(errno: errno)) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure(FileError(errno: errno)) }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: return .failure(FileError(message: "is a directory, not a file"))
        case S_IFIFO: return .failure(FileError(message: "is a FIFO, not a file (p2ptop reads only regular files)"))
        case S_IFSOCK: return .failure(FileError(message: "is a socket, not a file"))
        case S_IFCHR, S_IFBLK: return .failure(FileError(message: "is a device, not a file (p2ptop reads only regular files)"))
        default: return .failure(FileError(message: "is not a regular file"))
        }
        if Int(st.st_size) > limit { return .failure(FileError(message: "file larger than \(limit >> 20) MiB (the limit for this kind of file)")) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return .failure(FileError(errno: errno))
            }
            if n == 0 { break }
            out += chunk[0..<n]
            if out.count > limit { return .failure(FileError(message: "file larger than \(limit >> 20) MiB (the limit for this kind of file)")) }
        }
        return .success(out)
    }

    /// The first `count` bytes of a regular file (fewer if it is shorter): a header, without
    /// reading a file of any size whole.
    /// `regularOnly: false` reads a block device's first bytes too (the lab's drives).
    public static func readPrefix(_ path: String, count: Int, regularOnly: Bool = true) -> Result<[UInt8], FileError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .failure(FileError(errno: errno)) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure(FileError(errno: errno)) }
        let type = st.st_mode & S_IFMT
        guard type == S_IFREG || (!regularOnly && type == S_IFBLK) else { return .failure(FileError(message: "is not a regular file")) }
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, count - got, off_t(got)) }
            if n < 0 { if errno == EINTR { continue }; return .failure(FileError(errno: errno)) }
            if n == 0 { break }
            got += n
        }
        return .success(Array(out.prefix(got)))
    }

    public static func readString(_ path: String) -> String? {
        guard case .success(let b) = read(path, limit: 1 << 20) else { return nil }
        return String(decoding: b, as: UTF8.self)
    }

    /// A one-line sysfs attribute without its trailing newline.
    public static func attribute(_ path: String) -> String? {
        guard var s = readString(path) else { return nil }
        while s.last == "\n" || s.last == " " { s.removeLast() }
        return s
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// This process's resident set (VmRSS in /proc/self/status), in KiB; 0 where procfs is absent.
    public static func residentKB() -> Int {
        for line in (readString("/proc/self/status") ?? "").split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }

    /// This process's own binary (`/proc/self/exe`), else the name it was started by.
    public static func executablePath() -> String { readLink("/proc/self/exe") ?? CommandLine.arguments[0] }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Target of a symbolic link (not resolved further).
    public static func readLink(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func listDirectory(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Writes atomically and safely as root: the bytes go to a new file made exclusively
    /// (`O_CREAT|O_EXCL|O_NOFOLLOW`, a random name, so a link planted at any name is never
    /// followed) in the target's directory, `fchmod`ed, `fsync`ed, then renamed over the target.
    /// A link at the target's name is replaced, not written through; a directory, device, FIFO
    /// or socket there is refused. On any error nothing is left behind and the target is as it was.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) -> FileError? {
        if let e = refuseSpecial(path) { return e }
        let made: (fd: Int32, path: String)
        switch createTemporary(beside: path, mode: mode) {
        case .success(let m): made = m
        case .failure(let e): return e
        }
        if let e = writeAll(made.fd, bytes) ?? (fsync(made.fd) == 0 ? nil : FileError(errno: errno)) {
            close(made.fd); unlink(made.path)
            return e
        }
        if close(made.fd) != 0 { let e = FileError(errno: errno); unlink(made.path); return e }
        if rename(made.path, path) != 0 { let e = FileError(errno: errno); unlink(made.path); return e }
        return nil
    }

    /// A new, empty file at `path` for a writer that streams (a trace, a log): made as
    /// `writeAtomically` makes its file, renamed into place at once, and returned open for writing.
    public static func createReplacing(_ path: String, mode: mode_t = 0o644) -> Result<Int32, FileError> {
        if let e = refuseSpecial(path) { return .failure(e) }
        switch createTemporary(beside: path, mode: mode) {
        case .failure(let e): return .failure(e)
        case .success(let made):
            if rename(made.path, path) != 0 { let e = FileError(errno: errno); close(made.fd); unlink(made.path); return .failure(e) }
            return .success(made.fd)
        }
    }

    /// Every byte to `fd`, or the error (ENOSPC, EIO, …) that stopped it.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> FileError? {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return FileError(errno: errno)
            }
            if n == 0 { return FileError(message: "nothing was written") }
            offset += n
        }
        return nil
    }

    /// Only a regular file or a link (which a rename replaces) may stand at a name p2ptop writes.
    static func refuseSpecial(_ path: String) -> FileError? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG, S_IFLNK: return nil
        case S_IFDIR: return FileError(message: "is a directory")
        case S_IFCHR, S_IFBLK: return FileError(message: "is a device: p2ptop writes only regular files")
        case S_IFIFO: return FileError(message: "is a FIFO: p2ptop writes only regular files")
        default: return FileError(message: "is not a regular file: p2ptop writes only regular files")
        }
    }

    /// A new file beside `path` under a random name, opened `O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW`.
    static func createTemporary(beside path: String, mode: mode_t) -> Result<(fd: Int32, path: String), FileError> {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<64 {
            let name = dir + "." + base.prefix(64) + ".p2ptop-" + String(rng.next() as UInt64, radix: 36)
            let fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd < 0 {
                if errno == EEXIST { continue }
                return .failure(FileError(errno: errno))
            }
            guard fchmod(fd, mode) == 0 else { let e = FileError(errno: errno); close(fd); unlink(name); return .failure(e) }
            return .success((fd, name))
        }
        return .failure(FileError(message: "could not make a temporary file beside it"))
    }

    /// A private scratch directory (`mkdtemp`, mode 0700) under `parent` ($TMPDIR or /tmp by
    /// default): nothing in it has a name another user can guess or plant.
    public static func makePrivateDirectory(_ prefix: String, in parent: String? = nil) -> Result<String, FileError> {
        let base = parent ?? getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((FileIO.join(base, prefix) + "-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { return .failure(FileError(errno: errno)) }
        return .success(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }

    /// Removes a directory tree p2ptop made (links inside are removed, never followed).
    public static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            for name in listDirectory(path) ?? [] { removeTree(join(path, name)) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

public struct FileError: Error, CustomStringConvertible {
    public var message: String
    /// The system call's errno, when one said no.
    public var errno: Int32?
    public init(message: String) { self.message = message }
    public init(errno code: Int32) { message = String(cString: strerror(code)); errno = code }
    public var description: String { message }
}

extension FileIO {
    /// `a/b`, whatever `a` ends with; `b` alone when `a` is empty.
    public static func join(_ a: String, _ b: String) -> String {
        if a.isEmpty { return b }
        return a.hasSuffix("/") ? a + b : a + "/" + b
    }

    /// A sysfs attribute holding one number (`p2pmem/size`, `current_link_width`, counters).
    public static func number(_ path: String) -> Double? { attribute(path).flatMap { Double($0) } }

    /// The last component of a symlink's target (`device` → `0000:3b:00.0`).
    public static func linkName(_ path: String) -> String? { readLink(path)?.split(separator: "/").last.map(String.init) }

    /// Maps a whole file read-only; nil if it cannot be opened or is empty.
    public static func map(_ path: String) -> UnsafeBufferPointer<UInt8>? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0 else { return nil }
        let size = Int(st.st_size)
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else { return nil }
        return UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: size)
    }

    public static func unmap(_ b: UnsafeBufferPointer<UInt8>) {
        if let base = b.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), b.count) }
    }
}

/// A whole text file (up to 4 MiB), or nil if it cannot be read: for scripts and theme files.
public func readTextFile(_ path: String) -> String? {
    guard case .success(let bytes) = FileIO.read(path, limit: 4 << 20) else { return nil }
    return String(decoding: bytes, as: UTF8.self)
}
