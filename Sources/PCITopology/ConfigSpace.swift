/// The raw configuration space of one function, as far as the source could read it.
///
/// `bytes.count` is what was readable: 64 bytes without root on Linux, 256 for `lspci -xxx`
/// dumps and conventional PCI, 4096 for PCI Express with `-xxxx` or root. Reads past the end
/// return nil so that decoders can say "unknown" rather than guess.
public struct ConfigSpace: Hashable, Sendable {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var count: Int { bytes.count }

    public func has(_ offset: Int, _ length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset + length <= bytes.count
    }

    public func u8(_ offset: Int) -> UInt8? {
        has(offset, 1) ? bytes[offset] : nil
    }

    public func u16(_ offset: Int) -> UInt16? {
        guard has(offset, 2) else { return nil }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    public func u32(_ offset: Int) -> UInt32? {
        guard has(offset, 4) else { return nil }
        return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
            | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    /// Header reads: the first 64 bytes, present for every source (0xff filled otherwise).
    func h8(_ offset: Int) -> UInt8 { u8(offset) ?? 0xff }
    func h16(_ offset: Int) -> UInt16 { u16(offset) ?? 0xffff }
    func h32(_ offset: Int) -> UInt32 { u32(offset) ?? 0xffff_ffff }
}

/// Offsets of the standard header (PCI Local Bus spec, `pci_regs.h` names in comments).
enum Reg {
    static let vendorID = 0x00, deviceID = 0x02, command = 0x04, status = 0x06
    static let revision = 0x08, progIf = 0x09, classDevice = 0x0a, headerType = 0x0e
    static let bar0 = 0x10
    static let subsystemVendor = 0x2c, subsystemID = 0x2e
    static let capabilityList = 0x34, cardbusCapabilityList = 0x14
    static let primaryBus = 0x18, secondaryBus = 0x19, subordinateBus = 0x1a
    static let ioBase = 0x1c, ioLimit = 0x1d, memoryBase = 0x20, memoryLimit = 0x22
    static let prefBase = 0x24, prefLimit = 0x26, prefBaseUpper = 0x28, prefLimitUpper = 0x2c
    static let ioBaseUpper = 0x30, ioLimitUpper = 0x32
    static let cardbusPrimaryBus = 0x18, cardbusCardBus = 0x19, cardbusSubordinateBus = 0x1a
    static let cardbusSubsystemVendor = 0x40, cardbusSubsystemID = 0x42

    static let commandIO: UInt16 = 0x1, commandMemory: UInt16 = 0x2
    static let statusCapList: UInt16 = 0x10
}
