/// One base address register (or a 64-bit pair) as lspci shows it in `Region N:`.
public struct BAR: Hashable, Sendable {
    public enum Space: String, Sendable { case memory = "mem", io }

    public var index: Int
    public var space: Space
    public var is64Bit: Bool
    public var prefetchable: Bool
    /// Address with the flag bits masked off; nil when unassigned (or ignored).
    public var address: UInt64?
    /// Size in bytes when the source knows it (sysfs `resource`, snapshots); nil otherwise.
    public var size: UInt64?
    /// The command register has decoding for this space turned off.
    public var disabled: Bool
    /// The OS reports an address the device's register does not hold (lspci's `[virtual]`).
    public var isVirtual: Bool
    /// The register holds bits but no usable address (lspci's `<ignored>`).
    public var ignored: Bool
    /// Memory type field was 01b ("low-1M") or 11b (reserved).
    public var memoryType: UInt8
    /// This slot holds the upper 32 bits of the 64-bit BAR with this index. lspci 3.9.0
    /// still prints such a slot as a region of its own; p2ptop keeps it, marked.
    public var upperHalfOf: Int?

    public init(index: Int, space: Space, is64Bit: Bool, prefetchable: Bool, address: UInt64?,
                size: UInt64?, disabled: Bool, isVirtual: Bool = false, ignored: Bool = false,
                memoryType: UInt8 = 0) {
        self.index = index; self.space = space; self.is64Bit = is64Bit
        self.prefetchable = prefetchable; self.address = address; self.size = size
        self.disabled = disabled; self.isVirtual = isVirtual; self.ignored = ignored
        self.memoryType = memoryType
    }
}

/// What the operating system reports for one resource (Linux `resource` file, libpci
/// `base_addr`/`size`): the base with the low flag bits, and the size.
public struct OSResource: Hashable, Sendable {
    public var base: UInt64
    public var size: UInt64
    /// Kernel `IORESOURCE_*` flags (0 when unknown).
    public var flags: UInt64
    public init(base: UInt64, size: UInt64, flags: UInt64 = 0) { self.base = base; self.size = size; self.flags = flags }

    static let ioresourceIO: UInt64 = 0x100, ioresourceMem: UInt64 = 0x200
    static let ioresourcePrefetch: UInt64 = 0x2000, ioresourceMem64: UInt64 = 0x10_0000

    /// The BAR flag bits the kernel's resource type implies (I/O, 64-bit, prefetchable).
    var impliedBARFlags: UInt32? {
        if flags & OSResource.ioresourceIO != 0 { return 1 }
        if flags & OSResource.ioresourceMem != 0 {
            return (flags & OSResource.ioresourceMem64 != 0 ? 4 : 0) | (flags & OSResource.ioresourcePrefetch != 0 ? 8 : 0)
        }
        return nil
    }
}

enum BARDecoder {
    static let ioMask: UInt64 = ~0x3
    static let memMask: UInt64 = ~0xf

    /// Number of BAR slots per header layout.
    static func slotCount(headerType: UInt8) -> Int {
        switch headerType & 0x7f {
        case 0: return 6
        case 1: return 2
        case 2: return 1
        default: return 0
        }
    }

    /// The base address as libpci's generic back end computes it from config space
    /// (flags kept in the low bits, 64-bit pairs merged into the lower slot).
    static func configBases(_ config: ConfigSpace, count: Int) -> [UInt64] {
        var bases = [UInt64](repeating: 0, count: count)
        var i = 0
        while i < count {
            let x = config.h32(Reg.bar0 + 4 * i)
            if x == 0 || x == 0xffff_ffff { i += 1; continue }
            if x & 1 == 1 || (x >> 1) & 3 != 2 {
                bases[i] = UInt64(x)
            } else if i < count - 1 {
                let upper = config.h32(Reg.bar0 + 4 * (i + 1))
                bases[i] = UInt64(x) | UInt64(upper) << 32
                i += 1
            }
            i += 1
        }
        return bases
    }

    /// Decodes the BARs the way lspci 3.9.0's `show_bases` walks them: every slot in turn
    /// (the upper dword of a 64-bit BAR is looked at, not consumed), an address the OS
    /// reports for an all-zero register is `[virtual]`.
    static func decode(_ config: ConfigSpace, headerType: UInt8, os: [OSResource]?) -> [BAR] {
        let count = slotCount(headerType: headerType)
        guard count > 0 else { return [] }
        let command = config.h16(Reg.command)
        let fromConfig = configBases(config, count: count)
        var bars: [BAR] = []
        var upperOf: [Int: Int] = [:]
        let osFlagsKnown = os?.contains { $0.flags != 0 } ?? false
        for i in 0..<count {
            let resource = os.flatMap { $0.indices.contains(i) ? $0[i] : nil }
            let pos = os == nil ? fromConfig[i] : resource?.base ?? 0
            let len = resource?.size ?? 0
            var register = config.h32(Reg.bar0 + 4 * i)
            if register == 0xffff_ffff { register = 0 }
            var flags = register
            var isVirtual = false
            if osFlagsKnown {
                // With the kernel's resource flags (sysfs), lspci 3.9.0 takes the BAR's type —
                // I/O or memory, 64-bit, prefetchable — from them, not from the register; the
                // register only tells whether the address is the hardware's or [virtual].
                flags = resource?.impliedBARFlags ?? 0
                if pos != 0 && flags & 1 == register & 1 {
                    let upper = flags & 7 == 4 && i < count - 1 ? config.h32(Reg.bar0 + 4 * (i + 1)) : 0
                    isVirtual = register == 0 && upper == 0
                }
            }
            if pos == 0 && flags == 0 && len == 0 { continue }
            if !osFlagsKnown && pos != 0 && flags == 0 {
                // Reported by the OS, not by the device: the kernel's resource type says what
                // it is; with no type known, lspci marks it [virtual] and reads the low bits.
                if let implied = resource?.impliedBARFlags {
                    flags = implied
                } else {
                    flags = UInt32(truncatingIfNeeded: pos)
                    isVirtual = true
                }
            }
            let size: UInt64? = os == nil ? nil : len
            if flags & 1 == 1 {
                let a = pos & ioMask
                let assigned = a != 0 || command & Reg.commandIO != 0
                var bar = BAR(index: i, space: .io, is64Bit: false, prefetchable: false,
                              address: assigned ? a : nil, size: size,
                              disabled: !isVirtual && command & Reg.commandIO == 0,
                              isVirtual: isVirtual,
                              ignored: !assigned && flags & 0xffff_fffc != 0)
                bar.upperHalfOf = upperOf[i]
                bars.append(bar)
            } else {
                let type = UInt8((flags >> 1) & 3)
                let a = pos & memMask
                var upper: UInt32 = 0
                var invalidSlot = false
                if type == 2 {
                    if i >= count - 1 { invalidSlot = true } else {
                        upper = config.h32(Reg.bar0 + 4 * (i + 1))
                        upperOf[i + 1] = i
                    }
                }
                let ignored = !invalidSlot && a == 0 && type == 2 && upper != 0
                var bar = BAR(index: i, space: .memory, is64Bit: type == 2,
                              prefetchable: flags & 0x8 != 0,
                              address: (a != 0 && !invalidSlot) ? a : nil, size: size,
                              disabled: !isVirtual && command & Reg.commandMemory == 0,
                              isVirtual: isVirtual, ignored: ignored, memoryType: type)
                bar.upperHalfOf = upperOf[i]
                bars.append(bar)
            }
        }
        return bars
    }
}
