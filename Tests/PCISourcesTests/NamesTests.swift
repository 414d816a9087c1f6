import Testing
@testable import PCISources
import PCITopology

/// p2ptop's own pci.ids reader must give libpci's strings, exactly.
@Suite(.enabled(if: PCIIDs() != nil, "no pci.ids installed (pciutils)"))
struct NamesTests {
    let names = NameDatabase(useHWDB: false)
    let ids = PCIIDs()!

    @Test func everyClassCodeMatchesLibpci() {
        var mismatches: [String] = []
        for code in 0...0xffff {
            let mine = ids.className(UInt16(code))
            if let theirs = names.libpciClassName(UInt16(code)), theirs != mine {
                mismatches.append("\(hex(code, width: 4)): \(mine) vs \(theirs)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test func vendorDevicePairsMatchLibpci() {
        var generator = SplitMix(seed: 0x9e3779b97f4a7c15)
        var pairs: [(UInt16, UInt16)] = [(0x10de, 0x2330), (0x8086, 0x0d57), (0x1af4, 0x1041), (0xffff, 0xffff), (0x1234, 0x5678), (0x144d, 0xa80a)]
        for _ in 0..<3000 {
            let v = [0x8086, 0x10de, 0x1002, 0x15b3, 0x144d, 0x1af4, 0x14e4, 0x1022][Int(generator.next() % 8)]
            pairs.append((UInt16(v), UInt16(truncatingIfNeeded: generator.next())))
            pairs.append((UInt16(truncatingIfNeeded: generator.next()), UInt16(truncatingIfNeeded: generator.next())))
        }
        var mismatches: [String] = []
        for (v, d) in pairs {
            let mine = ids.vendorDevice(v, d)
            if let theirs = names.libpciVendorDevice(v, d), theirs != mine { mismatches.append("\(mine) vs \(theirs)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e3779b97f4a7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9
        z = (z ^ (z >> 27)) &* 0x94d049bb133111eb
        return z ^ (z >> 31)
    }
}
