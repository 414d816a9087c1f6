import ArgumentParser
import P2PEngine
import PCITopology
import RealBackends

/// Option values parsed once, into their types, with the one line a user needs when the value
/// is wrong: no command keeps a string to force-unwrap later.
enum OptionValue {
    /// A parser for `flag` that throws `flag 'VALUE': expected …` for a value it cannot read.
    static func parser<T>(_ flag: String, expected: String, _ parse: @escaping @Sendable (String) -> T?) -> @Sendable (String) throws -> T {
        { s in
            guard let v = parse(s) else { throw ValidationError("\(flag) '\(s)': expected \(expected)") }
            return v
        }
    }

    static func size(_ flag: String) -> @Sendable (String) throws -> ByteCount {
        parser(flag, expected: "bytes like 256M, 1G or 65536") { ByteSize.parse($0).map(ByteCount.init) }
    }

    /// A size that is a whole number of 4 KiB pages (an I/O size).
    static func pages(_ flag: String) -> @Sendable (String) throws -> ByteCount {
        parser(flag, expected: "a multiple of 4K") { s in ByteSize.parse(s).flatMap { $0 % 4096 == 0 ? ByteCount($0) : nil } }
    }

    /// lspci's `-s` and `-d` selectors, with the selector's own reason when one is wrong.
    static func selector<T>(_ parse: @escaping @Sendable (String) throws(SelectorError) -> T) -> @Sendable (String) throws -> T {
        { s in
            do throws(SelectorError) { return try parse(s) } catch { throw ValidationError(error.message) }
        }
    }
    static let slot = selector { s throws(SelectorError) in try SlotFilter(parsing: s) }
    static let id = selector { s throws(SelectorError) in try IDFilter(parsing: s) }

    static let method = parser("--via", expected: "odirect, rdma, dmabuf, zerocopy or cpu") { TransferMethod(rawValue: $0) }
    static let queue = parser("--queue", expected: "threads, io_uring or io_uring-fixed") { ODirect.Queue(rawValue: $0) }
}

/// A byte count given on the command line (`64M`), shown in help as it was written.
struct ByteCount: Sendable, CustomStringConvertible {
    var bytes: Int
    init(_ bytes: Int) { self.bytes = bytes }
    var description: String { ByteSize.text(UInt64(bytes)) }
}
