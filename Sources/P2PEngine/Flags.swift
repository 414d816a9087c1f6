/// `FOLL_*` flags (include/linux/mm_types.h names; values as in current kernels).
public struct FOLL: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let WRITE = FOLL(rawValue: 1 << 0)
    public static let GET = FOLL(rawValue: 1 << 1)
    public static let LONGTERM = FOLL(rawValue: 1 << 8)
    public static let PCI_P2PDMA = FOLL(rawValue: 1 << 10)
    /// Internal to mm (set by pin_user_pages*); mutually exclusive with GET.
    public static let PIN = FOLL(rawValue: 1 << 20)

    public var description: String {
        let names: [(FOLL, String)] = [(.WRITE, "FOLL_WRITE"), (.GET, "FOLL_GET"), (.PIN, "FOLL_PIN"),
                                       (.LONGTERM, "FOLL_LONGTERM"), (.PCI_P2PDMA, "FOLL_PCI_P2PDMA")]
        let set = names.filter { contains($0.0) }.map(\.1)
        return set.isEmpty ? "0" : set.joined(separator: "|")
    }
}

/// `1U << 10`: what a FOLL_PIN adds to an order-0 page's refcount.
public let GUP_PIN_COUNTING_BIAS = 1 << 10

/// Page size of the model (x86-64).
public let PAGE_SIZE = 4096
