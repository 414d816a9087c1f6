/// A PCI function address: domain (segment), bus, device, function — `0000:00:1c.0`.
public struct BDF: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var domain: UInt32
    public var bus: UInt8
    public var device: UInt8
    public var function: UInt8

    public init(domain: UInt32 = 0, bus: UInt8, device: UInt8, function: UInt8) {
        self.domain = domain
        self.bus = bus
        self.device = device & 0x1f
        self.function = function & 0x07
    }

    /// Parses `dddd:bb:dd.f` or `bb:dd.f` (hex, as lspci and sysfs write them).
    public init?(_ text: Substring) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3 else { return nil }
        let domainText: Substring = parts.count == 3 ? parts[0] : "0"
        let busText = parts[parts.count - 2]
        let devFn = parts[parts.count - 1].split(separator: ".", omittingEmptySubsequences: false)
        guard devFn.count == 2,
              let domain = UInt32(domainText, radix: 16),
              busText.count <= 2, let bus = UInt8(busText, radix: 16),
              devFn[0].count <= 2, let device = UInt8(devFn[0], radix: 16), device < 32,
              devFn[1].count == 1, let function = UInt8(devFn[1], radix: 16), function < 8
        else { return nil }
        self.init(domain: domain, bus: bus, device: device, function: function)
    }

    public init?(_ text: String) { self.init(text[...]) }

    /// domain:bus:devfn packed in one integer (hashing it is a single combine).
    public var packed: UInt64 { UInt64(domain) << 16 | UInt64(bus) << 8 | UInt64(device) << 3 | UInt64(function) }

    public func hash(into hasher: inout Hasher) { hasher.combine(packed) }

    public static func < (a: BDF, b: BDF) -> Bool {
        (a.domain, a.bus, a.device, a.function) < (b.domain, b.bus, b.device, b.function)
    }

    /// Always with the domain: `0000:00:1c.0` (the form sysfs and JSON use).
    public var description: String {
        hex(domain, width: 4) + ":" + short
    }

    /// Without the domain: `00:1c.0`.
    public var short: String {
        hex(bus, width: 2) + ":" + hex(device, width: 2) + "." + String(function, radix: 16)
    }

    /// `bb:dd.f` in domain 0000, the full form elsewhere (a VMD domain, a second segment):
    /// short where that loses nothing.
    public var compact: String { domain == 0 ? short : description }
}

/// Lower-case hex, zero padded to `width` digits.
public func hex<T: BinaryInteger>(_ value: T, width: Int) -> String {
    let digits = String(value, radix: 16)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
