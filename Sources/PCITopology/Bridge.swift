/// Bus numbers and forwarding windows of a PCI-to-PCI (type 1) or CardBus (type 2) bridge.
public struct BridgeInfo: Hashable, Sendable {
    public var primary: UInt8
    public var secondary: UInt8
    public var subordinate: UInt8
    public var windows: [BridgeWindow]

    public init(primary: UInt8, secondary: UInt8, subordinate: UInt8, windows: [BridgeWindow]) {
        self.primary = primary; self.secondary = secondary
        self.subordinate = subordinate; self.windows = windows
    }

    public func covers(bus: UInt8) -> Bool { secondary <= bus && bus <= subordinate }
}

/// One address window a bridge forwards downstream (`Memory behind bridge: …`).
public struct BridgeWindow: Hashable, Sendable {
    public enum Kind: String, Sendable { case io, memory, prefetchable }
    public var kind: Kind
    public var base: UInt64
    public var limit: UInt64
    public var is64Bit: Bool

    /// A window whose base lies above its limit forwards nothing.
    public var isEnabled: Bool { base <= limit }
    public var size: UInt64 { isEnabled ? limit - base + 1 : 0 }
}

enum BridgeDecoder {
    static func decode(_ c: ConfigSpace, headerType: UInt8) -> BridgeInfo? {
        switch headerType & 0x7f {
        case 1:
            return BridgeInfo(primary: c.h8(Reg.primaryBus), secondary: c.h8(Reg.secondaryBus),
                              subordinate: c.h8(Reg.subordinateBus), windows: windows(c))
        case 2:
            return BridgeInfo(primary: c.h8(Reg.cardbusPrimaryBus), secondary: c.h8(Reg.cardbusCardBus),
                              subordinate: c.h8(Reg.cardbusSubordinateBus), windows: [])
        default:
            return nil
        }
    }

    static func windows(_ c: ConfigSpace) -> [BridgeWindow] {
        var result: [BridgeWindow] = []
        let ioBase = c.h8(Reg.ioBase), ioLimit = c.h8(Reg.ioLimit)
        if ioBase != 0 || ioLimit != 0 {
            var base = UInt64(ioBase & 0xf0) << 8
            var limit = UInt64(ioLimit & 0xf0) << 8 | 0xfff
            let is32 = ioBase & 0x0f == 1
            if is32 {
                base |= UInt64(c.h16(Reg.ioBaseUpper)) << 16
                limit |= UInt64(c.h16(Reg.ioLimitUpper)) << 16
            }
            result.append(BridgeWindow(kind: .io, base: base, limit: limit, is64Bit: false))
        }
        let memBase = c.h16(Reg.memoryBase), memLimit = c.h16(Reg.memoryLimit)
        if memBase != 0 || memLimit != 0 {
            result.append(BridgeWindow(kind: .memory, base: UInt64(memBase & 0xfff0) << 16,
                                       limit: UInt64(memLimit & 0xfff0) << 16 | 0xfffff, is64Bit: false))
        }
        let prefBase = c.h16(Reg.prefBase), prefLimit = c.h16(Reg.prefLimit)
        if prefBase != 0 || prefLimit != 0 {
            var base = UInt64(prefBase & 0xfff0) << 16
            var limit = UInt64(prefLimit & 0xfff0) << 16 | 0xfffff
            let is64 = prefBase & 0x0f == 1
            if is64 {
                base |= UInt64(c.h32(Reg.prefBaseUpper)) << 32
                limit |= UInt64(c.h32(Reg.prefLimitUpper)) << 32
            }
            result.append(BridgeWindow(kind: .prefetchable, base: base, limit: limit, is64Bit: is64))
        }
        return result
    }
}

extension Topology {
    /// The enabled windows of every bridge above a function, outermost bridge first: the address
    /// ranges its BARs must fall in (`p2ptop bars`, the explorer's BAR map).
    public func windowsAbove(_ bdf: BDF) -> [(bridge: BDF, window: BridgeWindow)] {
        upstreamPath(bdf).reversed().flatMap { b in
            (device(b)?.bridge?.windows ?? []).filter(\.isEnabled).map { (bridge: b, window: $0) }
        }
    }
}
