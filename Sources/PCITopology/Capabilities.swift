/// Standard (0x40–0xff) and extended (0x100–0xfff) capabilities of one function.
public struct Capabilities: Hashable, Sendable {
    /// How much of the capability space the source could read.
    public enum Coverage: String, Hashable, Sendable {
        /// The device has no capability list (Status.CapList clear).
        case none
        /// Config space past the 64-byte header was unreadable: capabilities unknown
        /// (on Linux this means the reader was not root).
        case unreadable
        /// Standard capabilities read; extended space (≥ 0x100) not in the source.
        case standardOnly = "standard_only"
        /// Everything the device exposes was read.
        case full
    }

    public struct Entry: Hashable, Sendable {
        public var id: UInt16
        public var offset: Int
        public var version: UInt8
    }

    public var coverage: Coverage = .none
    public var standard: [Entry] = []
    public var extended: [Entry] = []
    /// Broken lists: loops, pointers outside the readable space, 0xff ids.
    public var anomalies: [String] = []

    public var express: PCIExpress?
    public var acs: ACS?
    public var resizableBARs: [ResizableBAR] = []
    public var sriov: SRIOV?

    public func hasExtended(_ id: ExtendedCapabilityID) -> Bool { extended.contains { $0.id == id.rawValue } }
    public func hasStandard(_ id: StandardCapabilityID) -> Bool { standard.contains { $0.id == UInt16(id.rawValue) } }

    /// Extended capability space was (or could have been) examined.
    public var extendedKnown: Bool { coverage == .full }
}

public enum StandardCapabilityID: UInt8, Sendable {
    case powerManagement = 0x01, agp = 0x02, vpd = 0x03, msi = 0x05, pcix = 0x07
    case hyperTransport = 0x08, vendor = 0x09, express = 0x10, msix = 0x11
    case slotID = 0x04, debugPort = 0x0a, bridgeSubsystem = 0x0d, sata = 0x12, advancedFeatures = 0x13, enhancedAllocation = 0x14

    /// Short names for listings, as lspci words them (`Power Management` → `PM`).
    public static func name(_ id: UInt16) -> String {
        switch StandardCapabilityID(rawValue: UInt8(truncatingIfNeeded: id)) {
        case .powerManagement: return "PM"
        case .agp: return "AGP"
        case .vpd: return "VPD"
        case .msi: return "MSI"
        case .pcix: return "PCI-X"
        case .hyperTransport: return "HT"
        case .vendor: return "Vendor"
        case .express: return "Express"
        case .msix: return "MSI-X"
        case .slotID: return "SlotID"
        case .debugPort: return "Debug"
        case .bridgeSubsystem: return "SSVID"
        case .sata: return "SATA"
        case .advancedFeatures: return "AF"
        case .enhancedAllocation: return "EA"
        case nil: return "#" + hex(id, width: 2)
        }
    }
}

public enum ExtendedCapabilityID: UInt16, Sendable {
    case aer = 0x01, virtualChannel = 0x02, serialNumber = 0x03, acs = 0x0d, ari = 0x0e
    case ats = 0x0f, sriov = 0x10, pri = 0x13, resizableBAR = 0x15, pasid = 0x1b
    case powerBudgeting = 0x04, vendorSpecific = 0x0b, ltr = 0x18, secondaryPCIe = 0x19
    case dataLinkFeature = 0x25, physicalLayer16 = 0x26, laneMargining = 0x27, physicalLayer32 = 0x2a
    case dvsec = 0x23, ide = 0x30
    case dpc = 0x1d, l1ss = 0x1e, ptm = 0x1f, vfResizableBAR = 0x24, doe = 0x2e

    /// Short names for listings (`AER ACS SR-IOV …`).
    public static func name(_ id: UInt16) -> String {
        switch ExtendedCapabilityID(rawValue: id) {
        case .aer: return "AER"
        case .virtualChannel: return "VC"
        case .serialNumber: return "DSN"
        case .acs: return "ACS"
        case .ari: return "ARI"
        case .ats: return "ATS"
        case .sriov: return "SR-IOV"
        case .pri: return "PRI"
        case .resizableBAR: return "ReBAR"
        case .pasid: return "PASID"
        case .dpc: return "DPC"
        case .l1ss: return "L1SS"
        case .ptm: return "PTM"
        case .vfResizableBAR: return "VF-ReBAR"
        case .doe: return "DOE"
        case .powerBudgeting: return "PowerBudget"
        case .vendorSpecific: return "Vendor"
        case .ltr: return "LTR"
        case .secondaryPCIe: return "SecPCIe"
        case .dataLinkFeature: return "DLF"
        case .physicalLayer16: return "PL16GT"
        case .laneMargining: return "LaneMargin"
        case .physicalLayer32: return "PL32GT"
        case .dvsec: return "DVSEC"
        case .ide: return "IDE"
        case nil: return "#" + hex(id, width: 2)
        }
    }
}

/// One Resizable BAR entry: which BAR, the sizes it supports, the size it has now.
public struct ResizableBAR: Hashable, Sendable {
    public var barIndex: Int
    /// Supported sizes in bytes, ascending.
    public var supportedSizes: [UInt64]
    public var currentSize: UInt64
    public var isVF: Bool

    public var largestSize: UInt64 { supportedSizes.last ?? currentSize }
}

/// Single Root I/O Virtualization: VF counts and the VF BARs.
public struct SRIOV: Hashable, Sendable {
    public var initialVFs: Int
    public var totalVFs: Int
    public var numVFs: Int
    public var firstVFOffset: Int
    public var vfStride: Int
    public var vfDeviceID: UInt16
    public var enabled: Bool
    public var vfBARs: [BAR]
}

enum CapabilityWalker {
    static func walk(_ c: ConfigSpace, headerType: UInt8) -> Capabilities {
        var caps = Capabilities()
        guard c.h16(Reg.status) & Reg.statusCapList != 0 else { return caps }
        guard c.count > 64 else {
            caps.coverage = .unreadable
            return caps
        }
        var canHaveExtended = false
        let pointerOffset = headerType & 0x7f == 2 ? Reg.cardbusCapabilityList : Reg.capabilityList
        var where_ = Int(c.h8(pointerOffset) & ~3)
        var seen = Set<Int>()
        while where_ != 0 {
            guard c.has(where_, 4) else {
                caps.anomalies.append("capability pointer 0x\(hex(where_, width: 2)) points outside the readable config space")
                break
            }
            if !seen.insert(where_).inserted {
                caps.anomalies.append("capability list loops back to 0x\(hex(where_, width: 2))")
                break
            }
            let id = c.h8(where_)
            let next = Int(c.h8(where_ + 1) & ~3)
            if id == 0xff {
                caps.anomalies.append("capability list broken at 0x\(hex(where_, width: 2)) (id 0xff)")
                break
            }
            caps.standard.append(.init(id: UInt16(id), offset: where_, version: 0))
            if id == StandardCapabilityID.express.rawValue {
                caps.express = ExpressDecoder.decode(c, at: where_)
                canHaveExtended = true
            } else if id == StandardCapabilityID.pcix.rawValue {
                canHaveExtended = true
            }
            where_ = next
        }
        caps.coverage = .standardOnly
        if canHaveExtended && c.count >= 4096 {
            caps.coverage = .full
            walkExtended(c, into: &caps)
        } else if !canHaveExtended {
            caps.coverage = .full
        }
        return caps
    }

    static func walkExtended(_ c: ConfigSpace, into caps: inout Capabilities) {
        var where_ = 0x100
        var seen = Set<Int>()
        repeat {
            guard c.has(where_, 4) else {
                caps.anomalies.append("extended capability pointer 0x\(hex(where_, width: 3)) points outside the config space")
                break
            }
            let header = c.h32(where_)
            if header == 0 || header == 0xffff_ffff { break }
            if !seen.insert(where_).inserted {
                caps.anomalies.append("extended capability list loops back to 0x\(hex(where_, width: 3))")
                break
            }
            let id = UInt16(header & 0xffff)
            let version = UInt8((header >> 16) & 0xf)
            caps.extended.append(.init(id: id, offset: where_, version: version))
            switch ExtendedCapabilityID(rawValue: id) {
            case .acs:
                if let cap = c.u16(where_ + 4), let ctl = c.u16(where_ + 6) {
                    caps.acs = ACS(offset: where_, capability: ACSBits(rawValue: cap), control: ACSBits(rawValue: ctl))
                }
            case .resizableBAR, .vfResizableBAR:
                caps.resizableBARs += decodeRebar(c, at: where_, isVF: id == ExtendedCapabilityID.vfResizableBAR.rawValue)
            case .sriov:
                caps.sriov = decodeSRIOV(c, at: where_)
            default:
                break
            }
            where_ = Int((header >> 20) & ~3)
        } while where_ != 0
    }

    static func decodeRebar(_ c: ConfigSpace, at offset: Int, isVF: Bool) -> [ResizableBAR] {
        guard let firstCtrl = c.u32(offset + 8) else { return [] }
        let count = Int((firstCtrl >> 5) & 7)
        var result: [ResizableBAR] = []
        for i in 0..<min(count, 6) {
            guard let cap = c.u32(offset + 4 + 8 * i), let ctrl = c.u32(offset + 8 + 8 * i) else { break }
            var sizes: [UInt64] = []
            for bit in 4..<32 where cap & (1 << UInt32(bit)) != 0 {
                sizes.append(UInt64(1) << UInt64(bit + 16))  // bit 4 = 1 MB
            }
            // Sizes above 128 TB live in the upper half of the control register.
            for bit in 16..<32 where ctrl & (1 << UInt32(bit)) != 0 {
                sizes.append(UInt64(1) << UInt64(bit + 32))  // bit 16 = 256 TB
            }
            let current = UInt64(1) << UInt64(20 + (ctrl >> 8) & 0x3f)
            result.append(ResizableBAR(barIndex: Int(ctrl & 7), supportedSizes: sizes.sorted(),
                                       currentSize: current, isVF: isVF))
        }
        return result
    }

    static func decodeSRIOV(_ c: ConfigSpace, at offset: Int) -> SRIOV? {
        guard let ctrl = c.u16(offset + 8), let initial = c.u16(offset + 0x0c), let total = c.u16(offset + 0x0e),
              let num = c.u16(offset + 0x10), let first = c.u16(offset + 0x14), let stride = c.u16(offset + 0x16),
              let vfDevice = c.u16(offset + 0x1a) else { return nil }
        // VF BARs are laid out like a type 0 header's BARs, starting at offset + 0x24.
        var vfBARs: [BAR] = []
        var i = 0
        while i < 6 {
            guard let low = c.u32(offset + 0x24 + 4 * i) else { break }
            let index = i
            i += 1
            if low == 0 { continue }
            if low & 1 == 1 {
                vfBARs.append(BAR(index: index, space: .io, is64Bit: false, prefetchable: false,
                                  address: UInt64(low & ~3), size: nil, disabled: false))
                continue
            }
            let type = UInt8((low >> 1) & 3)
            var address = UInt64(low & ~0xf)
            if type == 2, i < 6, let high = c.u32(offset + 0x24 + 4 * i) {
                address |= UInt64(high) << 32
                i += 1
            }
            vfBARs.append(BAR(index: index, space: .memory, is64Bit: type == 2, prefetchable: low & 8 != 0,
                              address: address == 0 ? nil : address, size: nil,
                              disabled: ctrl & 0x8 == 0, memoryType: type))
        }
        return SRIOV(initialVFs: Int(initial), totalVFs: Int(total), numVFs: Int(num),
                     firstVFOffset: Int(first), vfStride: Int(stride), vfDeviceID: vfDevice,
                     enabled: ctrl & 1 != 0, vfBARs: vfBARs)
    }
}

/// The names `lspci -vv` prints in its `Capabilities: [offset]` lines, for JSON and listings
/// that should read like lspci (`Express`, `Access Control Services`).
public enum CapabilityNames {
    public static func standard(_ id: UInt16) -> String {
        switch id {
        case 0x01: return "Power Management"
        case 0x02: return "AGP"
        case 0x03: return "Vital Product Data"
        case 0x04: return "Slot ID"
        case 0x05: return "MSI"
        case 0x06: return "CompactPCI hot-swap"
        case 0x07: return "PCI-X"
        case 0x08: return "HyperTransport"
        case 0x09: return "Vendor Specific Information"
        case 0x0a: return "Debug port"
        case 0x0b: return "CompactPCI central resource control"
        case 0x0c: return "Hot-plug capable"
        case 0x0d: return "Subsystem"
        case 0x0e: return "AGP3"
        case 0x0f: return "Secure device"
        case 0x10: return "Express"
        case 0x11: return "MSI-X"
        case 0x12: return "SATA HBA"
        case 0x13: return "PCI Advanced Features"
        case 0x14: return "Enhanced Allocation"
        case 0x15: return "Flattening Portal Bridge"
        default: return "#" + hex(id, width: 2)
        }
    }

    public static func extended(_ id: UInt16) -> String {
        switch id {
        case 0x01: return "Advanced Error Reporting"
        case 0x02, 0x09: return "Virtual Channel"
        case 0x03: return "Device Serial Number"
        case 0x04: return "Power Budgeting"
        case 0x05: return "Root Complex Link"
        case 0x06: return "Root Complex Internal Link"
        case 0x07: return "Root Complex Event Collector"
        case 0x08: return "Multi-Function Virtual Channel"
        case 0x0a: return "Root Complex Register Block"
        case 0x0b: return "Vendor Specific Information"
        case 0x0d: return "Access Control Services"
        case 0x0e: return "Alternative Routing-ID Interpretation (ARI)"
        case 0x0f: return "Address Translation Service (ATS)"
        case 0x10: return "Single Root I/O Virtualization (SR-IOV)"
        case 0x11: return "Multi-Root I/O Virtualization (MR-IOV)"
        case 0x12: return "Multicast"
        case 0x13: return "Page Request Interface (PRI)"
        case 0x15: return "Physical Resizable BAR"
        case 0x16: return "Dynamic Power Allocation"
        case 0x17: return "TPH Requester"
        case 0x18: return "Latency Tolerance Reporting"
        case 0x19: return "Secondary PCI Express"
        case 0x1a: return "Protocol Multiplexing"
        case 0x1b: return "Process Address Space ID (PASID)"
        case 0x1c: return "LN Requester"
        case 0x1d: return "Downstream Port Containment"
        case 0x1e: return "L1 PM Substates"
        case 0x1f: return "Precision Time Measurement"
        case 0x23: return "Designated Vendor-Specific"
        case 0x24: return "VF Resizable BAR"
        case 0x25: return "Data Link Feature"
        case 0x26: return "Physical Layer 16.0 GT/s"
        case 0x27: return "Lane Margining at the Receiver"
        case 0x29: return "Native PCIe Enclosure Management"
        case 0x2a: return "Physical Layer 32.0 GT/s"
        case 0x2e: return "Data Object Exchange"
        case 0x30: return "Integrity & Data Encryption"
        default: return "#" + hex(id, width: 2)
        }
    }
}
