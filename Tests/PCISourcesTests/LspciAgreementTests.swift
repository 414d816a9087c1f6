import Foundation
import Testing
import TestSupport
@testable import PCISources
import PCITopology

/// p2ptop against lspci 3.9.0, field for field, on every fixture in ../shared/fixtures.
@Suite(.enabled(if: Fixtures.available, Fixtures.skipMessage))
struct LspciAgreementTests {
    /// `Region N:` text as lspci -vv prints it, rebuilt from p2ptop's model.
    static func lspciRegion(_ b: BAR) -> String {
        var s = b.isVirtual ? "[virtual] " : ""
        if b.space == .io {
            s += "I/O ports at " + (b.address.map { hex($0, width: 4) } ?? (b.ignored ? "<ignored>" : "<unassigned>"))
            if b.disabled { s += " [disabled]" }
        } else {
            s += "Memory at " + (b.address.map { hex($0, width: 8) } ?? (b.ignored ? "<ignored>" : "<unassigned>"))
            let type = b.is64Bit ? "64-bit" : (b.memoryType == 1 ? "low-1M" : b.memoryType == 3 ? "type 3" : "32-bit")
            s += " (\(type), \(b.prefetchable ? "" : "non-")prefetchable)"
            if b.disabled { s += " [disabled]" }
        }
        if let size = b.size, size > 0 {
            var x = size, i = 0
            let suffix = ["", "K", "M", "G", "T"]
            while i < 4 && x % 1024 == 0 { x /= 1024; i += 1 }
            s += " [size=\(x)\(suffix[i])]"
        }
        return s
    }

    /// `Speed 8GT/s, Width x4` from a LnkCap/LnkSta line (annotations dropped).
    static func speedWidth(_ line: String) -> String? {
        guard let r = line.range(of: #"Speed [^ ,]+( \([a-z]+\))?, Width x[0-9]+"#, options: .regularExpression) else { return nil }
        return String(line[r]).replacingOccurrences(of: #" \([a-z]+\)"#, with: "", options: .regularExpression)
    }

    static func compare(_ t: Topology, verbose: String, nn: String, context: String) {
        let reference = LspciReference.parseVerbose(verbose)
        #expect(t.devices.map { $0.bdf.description } == LspciReference.parseBDFs(nn), "device set differs: \(context)")
        for d in t.devices {
            guard let ref = reference[d.bdf.description] else {
                Issue.record("\(context): \(d.bdf) missing from lspci -vv"); continue
            }
            let mine = Dictionary(uniqueKeysWithValues: d.bars.map { ($0.index, lspciRegion($0)) })
            #expect(mine == ref.regions, "\(context) \(d.bdf) BARs")
            let capText = d.link.map { "Speed \($0.capability.speed.text), Width x\($0.capability.width)" }
            #expect(capText == ref.lnkCap.flatMap(speedWidth), "\(context) \(d.bdf) LnkCap")
            let staText = d.link?.status.map { "Speed \($0.speed.text), Width x\($0.width)" }
            #expect(staText == ref.lnkSta.flatMap(speedWidth), "\(context) \(d.bdf) LnkSta")
            if let sta = ref.lnkSta, let link = d.link {
                #expect(link.isDowngraded == sta.contains("downgraded"), "\(context) \(d.bdf) downgraded mark")
            }
            #expect(d.express?.maxPayloadSupported == ref.devCapMaxPayload, "\(context) \(d.bdf) DevCap MaxPayload")
            #expect(d.express?.maxPayload == ref.maxPayload, "\(context) \(d.bdf) DevCtl MaxPayload")
            #expect(d.express?.maxReadRequest == ref.maxReadRequest, "\(context) \(d.bdf) DevCtl MaxReadReq")
            #expect(d.acs?.capability.lspciFlags == ref.acsCap, "\(context) \(d.bdf) ACSCap")
            #expect(d.acs?.control.lspciFlags == ref.acsCtl, "\(context) \(d.bdf) ACSCtl")
        }
    }

    @Test("lspci dumps: devices, parents (tree), BARs, links, ACS", arguments: Fixtures.dumps)
    func dump(_ name: String) throws {
        let t = try DumpReader.load(path: Fixtures.path("lspci/\(name).dump"))
        let verbose = try #require(Fixtures.text("lspci/\(name).vv.nohwdb.txt"))
        let nn = try #require(Fixtures.text("lspci/\(name).nn.nohwdb.txt"))
        Self.compare(t, verbose: verbose, nn: nn, context: name)
        // The tree, names from pci.ids only: its structure (every parent) as recorded; names
        // depend on the installed pci.ids, so byte for byte against this machine's lspci.
        let names = NameDatabase(useHWDB: false)
        let tree = TreeRenderer(topology: t) { names.vendorDevice($0) }.render()
        let recorded = try #require(Fixtures.text("lspci/\(name).tree.nohwdb.txt"))
        #expect(LspciReference.stripNames(tree) == LspciReference.stripNames(recorded), "\(name): tree structure")
    }

    @Test("lspci dumps: the tree with names, byte for byte against this machine's lspci -tv", .needsLspci, arguments: Fixtures.dumps)
    func dumpTreeIsThisMachinesLspci(_ name: String) throws {
        let t = try DumpReader.load(path: Fixtures.path("lspci/\(name).dump"))
        let names = NameDatabase(useHWDB: false)
        let tree = TreeRenderer(topology: t) { names.vendorDevice($0) }.render()
        let expected = try #require(TestMachine.lspciOutput(["-F", Fixtures.path("lspci/\(name).dump"), "-tv", "-O", "hwdb.disable=1"]))
        #expect(!expected.isEmpty && tree == expected, "\(name): differs from this machine's lspci -tv")
    }

    @Test("sysfs roots: devices, tree, BARs with sizes", arguments: Fixtures.sysfsTarballs)
    func sysfsRoot(_ name: String) throws {
        let root = try Fixtures.extract(name)
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: root).deletingLastPathComponent().path) }
        let t = try SysfsSource.load(root: root)
        let verbose = try #require(Fixtures.text("sysfs/\(name).sysfs-vv.nohwdb.txt"))
        let nn = try #require(Fixtures.text("sysfs/\(name).sysfs-nn.txt"))
        Self.compare(t, verbose: verbose, nn: nn, context: name)
        let tree = TreeRenderer(topology: t) { _ in "x" }.render()
        let expected = try #require(Fixtures.text("sysfs/\(name).sysfs-tree.txt"))
        #expect(LspciReference.stripNames(tree).replacingOccurrences(of: "  x", with: "")
                == LspciReference.stripNames(expected), "\(name): tree structure")
        // Config files in these trees are 64 bytes: capabilities must read as unknown, not absent.
        for d in t.devices where d.config.bytes[6] & 0x10 != 0 {
            #expect(d.capabilities.coverage == .unreadable)
        }
        // The 64-byte dump lspci made of the same tree holds the same functions and bytes.
        let fromDump = try DumpReader.load(path: Fixtures.path("sysfs/\(name).dump"))
        #expect(fromDump.devices.map(\.bdf) == t.devices.map(\.bdf))
        #expect(fromDump.devices.map(\.config) == t.devices.map(\.config))
    }
}
