import LinuxFiles
import PCISources
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A Chrome/Perfetto JSON trace written as it goes: a new file (a link at its name replaced,
/// never followed; a FIFO or a device refused), events appended and flushed after each batch;
/// a write that fails (ENOSPC, EIO) is an error, not a silently short trace.
final class TraceWriter {
    let path: String
    private var file: UnsafeMutablePointer<FILE>?

    init(path: String, metadata: [JSON]) throws {
        self.path = path
        switch FileIO.createReplacing(path) {
        case .failure(let e): throw CommandError(message: "\(path): cannot write: \(e)")
        case .success(let fd): file = fdopen(fd, "w")
        }
        fputs("[\n" + metadata.map { $0.serialized() }.joined(separator: ",\n"), file)
    }

    func append(_ events: [JSON]) throws {
        guard let f = file else { return }
        for e in events { fputs(",\n" + e.serialized(), f) }
        try flush(closing: false)
    }

    /// Ends the JSON array and closes the file (once; later calls do nothing).
    func close() throws { try flush(closing: true) }

    private func flush(closing: Bool) throws {
        guard let f = file else { return }
        if closing { fputs("\n]\n", f) }
        let failed = fflush(f) != 0 || ferror(f) != 0
        let code = errno
        if closing || failed { fclose(f); file = nil }
        if failed { throw CommandError(message: "\(path): cannot write: \(String(cString: strerror(code)))") }
    }

    deinit { try? close() }
}
