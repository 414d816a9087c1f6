/// Builds raw configuration space byte by byte: for synthetic topologies (tests, generated
/// benchmarks, demo fabrics). Everything else in p2ptop then decodes the bytes like a dump's.
public struct ConfigSpaceBuilder: Sendable {
    public var bytes: [UInt8]
    private var lastStandardCap: Int?
    private var lastExtendedCap: Int?

    /// Edits existing bytes (a fabric's bridge getting its windows once its children exist).
    public init(bytes: [UInt8]) { self.bytes = bytes }

    public init(size: Int = 4096, vendor: UInt16, device: UInt16, classCode: UInt16, header: UInt8 = 0) {
        bytes = [UInt8](repeating: 0, count: size)
        w16(0, vendor); w16(2, device); w16(0x0a, classCode); bytes[0x0e] = header
        w16(4, 0x0006)  // memory decoding + bus master
    }

    public mutating func w16(_ o: Int, _ v: UInt16) { bytes[o] = UInt8(v & 0xff); bytes[o + 1] = UInt8(v >> 8) }
    public mutating func w32(_ o: Int, _ v: UInt32) { w16(o, UInt16(v & 0xffff)); w16(o + 2, UInt16(v >> 16)) }

    /// A standard capability at `at`, chained after the previous one (or first).
    public mutating func cap(at: Int, id: UInt8, next: Int = 0) {
        bytes[6] |= 0x10
        if let last = lastStandardCap { bytes[last + 1] = UInt8(at) } else if bytes[0x34] == 0 { bytes[0x34] = UInt8(at) }
        bytes[at] = id; bytes[at + 1] = UInt8(next)
        lastStandardCap = at
    }

    /// The PCI Express capability (v2) with a link: speed codes (1 = 2.5 GT/s … 6 = 64 GT/s), widths.
    /// The PCI Express capability: port type, LnkCap/LnkSta, and DevCap/DevCtl with the MPS and
    /// MRRS a server's firmware usually leaves (256 and 512 bytes; 512 supported).
    public mutating func express(at: Int = 0x40, type: UInt8, capSpeed: UInt8, capWidth: UInt32,
                                 staSpeed: UInt8, staWidth: UInt16, maxPayload: Int = 256, maxReadRequest: Int = 512, next: Int = 0) {
        cap(at: at, id: 0x10, next: next)
        w16(at + 2, UInt16(type) << 4 | 2)
        func code(_ bytes: Int) -> UInt16 { UInt16(max(0, min(5, (bytes >> 7).trailingZeroBitCount))) }
        w32(at + 0x04, UInt32(max(code(512), code(maxPayload))))
        w16(at + 0x08, code(maxPayload) << 5 | code(maxReadRequest) << 12)
        w32(at + 0x0c, UInt32(capSpeed) | capWidth << 4)
        w16(at + 0x12, UInt16(staSpeed) | staWidth << 4)
    }

    /// An extended capability header at `at`, chained after the previous one.
    public mutating func ext(at: Int, id: UInt16, next: Int = 0) {
        if let last = lastExtendedCap {
            let header = UInt32(bytes[last]) | UInt32(bytes[last + 1]) << 8 | UInt32(bytes[last + 2]) << 16
            w32(last, header & 0x000f_ffff | UInt32(at) << 20)
        }
        w32(at, UInt32(id) | 1 << 16 | UInt32(next) << 20)
        lastExtendedCap = at
    }

    /// Access Control Services with the given capability and control bits.
    public mutating func acs(at: Int = 0x100, capability: ACSBits, control: ACSBits) {
        ext(at: at, id: 0x0d)
        w16(at + 4, capability.rawValue); w16(at + 6, control.rawValue)
    }

    /// Type 1 header bus numbers.
    public mutating func buses(primary: UInt8, secondary: UInt8, subordinate: UInt8) {
        bytes[0x18] = primary; bytes[0x19] = secondary; bytes[0x1a] = subordinate
    }

    /// A 64-bit memory BAR pair at slot `index`.
    public mutating func bar32(_ index: Int, address: UInt32, prefetchable: Bool) {
        w32(0x10 + 4 * index, (address & 0xffff_fff0) | (prefetchable ? 0x8 : 0))
    }

    public mutating func bar64(_ index: Int, address: UInt64, prefetchable: Bool) {
        w32(0x10 + 4 * index, UInt32(address & 0xffff_fff0) | 0x4 | (prefetchable ? 0x8 : 0))
        w32(0x14 + 4 * index, UInt32(address >> 32))
    }

    public var config: ConfigSpace { ConfigSpace(bytes) }
}
