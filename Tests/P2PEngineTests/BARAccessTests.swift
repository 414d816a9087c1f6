import Foundation
import Testing
import PCITopology
@testable import P2PEngine
@testable import RealBackends

/// Every rule that keeps p2ptop from touching a BAR it must not.
@Suite struct BARAccessTests {
    func facts(prefetchable: Bool = true, io: Bool = false, driver: String? = nil, resource: Bool = true, root: Bool = true,
               lockdown: String? = "none", strict: Bool = false) -> BARAccessPolicy.Facts {
        let bar = BAR(index: 1, space: io ? .io : .memory, is64Bit: true, prefetchable: prefetchable, address: 0x6000000000, size: 1 << 30, disabled: false)
        return BARAccessPolicy.Facts(bar: bar, driver: driver, hasResourceFile: resource, isRoot: root, lockdown: lockdown, iomemStrict: strict)
    }

    func rule(_ d: BARAccessPolicy.Decision) -> String? { if case .refused(let r, _) = d { return r }; return nil }

    @Test func readsAreAllowedOnlyWhereSafe() {
        #expect(rule(BARAccessPolicy.check(facts(driver: "nvidia"), write: false, allowWrite: false)) == "driver", "a driver's BAR is read only when asked")
        #expect(BARAccessPolicy.check(facts(driver: "nvidia"), write: false, allowWrite: false, allowDriverBAR: true) == .allowed, "prefetchable, asked for")
        #expect(rule(BARAccessPolicy.check(facts(prefetchable: false, driver: "nvme"), write: false, allowWrite: false, allowDriverBAR: true)) == "side-effects")
        #expect(rule(BARAccessPolicy.check(facts(prefetchable: false, driver: "nvme"), write: false, allowWrite: false)) == "side-effects")
        #expect(BARAccessPolicy.check(facts(prefetchable: false, driver: "vfio-pci"), write: false, allowWrite: false) == .allowed)
        #expect(BARAccessPolicy.check(facts(prefetchable: false, driver: nil), write: false, allowWrite: false) == .allowed)
        #expect(rule(BARAccessPolicy.check(facts(io: true), write: false, allowWrite: false)) == "memory-bar")
        #expect(rule(BARAccessPolicy.check(facts(resource: false), write: false, allowWrite: false)) == "resource-file")
        #expect(rule(BARAccessPolicy.check(facts(root: false), write: false, allowWrite: false)) == "root")
        #expect(rule(BARAccessPolicy.check(facts(lockdown: "integrity"), write: false, allowWrite: false)) == "lockdown")
    }

    @Test func writesNeedEveryRule() {
        #expect(rule(BARAccessPolicy.check(facts(), write: true, allowWrite: false)) == "allow-write")
        #expect(rule(BARAccessPolicy.check(facts(driver: "nvidia"), write: true, allowWrite: true)) == "driver")
        #expect(rule(BARAccessPolicy.check(facts(strict: true), write: true, allowWrite: true)) == "iomem-strict")
        #expect(rule(BARAccessPolicy.check(facts(root: false), write: true, allowWrite: true)) == "root")
        #expect(BARAccessPolicy.check(facts(driver: "vfio-pci"), write: true, allowWrite: true) == .allowed)
        #expect(BARAccessPolicy.check(facts(), write: true, allowWrite: true) == .allowed)
        #expect(rule(BARAccessPolicy.check(facts(prefetchable: false), write: true, allowWrite: true)) == "registers", "never pattern-write registers")
        #expect(rule(BARAccessPolicy.check(facts(prefetchable: false, driver: "vfio-pci"), write: true, allowWrite: true)) == "registers")
    }

    /// The mapping code on a plain file standing in for resourceN (same mmap, same loads and
    /// stores): the write test leaves the bytes exactly as they were.
    @Test func writeTestRestoresEveryByte() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-fake-resource-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let original = Data((0..<(256 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try original.write(to: URL(fileURLWithPath: path))
        let w = try BARAccess.writeTest(path: path, size: original.count)
        #expect(w.verified && w.restored && w.writeGBps > 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == original)
        #expect(try BARAccess.readBandwidth(path: path, size: original.count) > 0)
        #expect(throws: EngineError.self) { try BARAccess.writeTest(path: path + ".missing", size: 4096) }
    }
}
