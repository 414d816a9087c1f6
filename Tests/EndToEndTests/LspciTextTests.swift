import Foundation
import Testing
import TestSupport

/// `list --plain` is `lspci -nn`, byte for byte, against the lspci of this machine (its
/// pci.ids, its udev hwdb, if any): on every fixture dump, with hwdb and without, every captured
/// sysfs tree, and the live machine. References recorded on another machine name devices with
/// that machine's databases, so against them everything but the names must agree.
@Suite struct LspciTextTests {
    static var dumps: [String] { TestMachine.fixtureFiles("lspci", ".dump") }

    /// `list --plain` flags and the lspci options that mean the same.
    static let modes: [(flags: [String], lspci: [String], recorded: String)] = [
        (["--no-hwdb"], ["-O", "hwdb.disable=1"], ".nn.nohwdb.txt"),
        ([], [], ".nn.txt"),
    ]

    @Test(.needsFixtures, .needsLspci)
    func listPlainIsLspciNNOnEveryDump() throws {
        #expect(Self.dumps.count >= 30)
        for dump in Self.dumps {
            for mode in Self.modes {
                let expected = try #require(TestMachine.lspciOutput(["-F", dump, "-nn"] + mode.lspci), "lspci -F \(dump)")
                let r = try CLI.run(["list", "--plain", "--dump", dump] + mode.flags)
                #expect(r.status == 0 && !expected.isEmpty && r.stdout == expected, "\(dump) \(mode.flags): differs from this machine's lspci")
            }
        }
    }

    @Test(.needsFixtures)
    func listPlainAgreesWithTheRecordedReferencesButForNames() throws {
        #expect(Self.dumps.count >= 30)
        for dump in Self.dumps {
            for mode in Self.modes {
                let recorded = try String(contentsOfFile: String(dump.dropLast(5)) + mode.recorded, encoding: .utf8)
                let r = try CLI.run(["list", "--plain", "--dump", dump] + mode.flags)
                #expect(r.status == 0 && !recorded.isEmpty && TestMachine.maskingNames(nn: r.stdout) == TestMachine.maskingNames(nn: recorded),
                        "\(dump) \(mode.flags): differs from \(mode.recorded) beyond the names")
            }
        }
    }

    /// Each captured sysfs tree: its recorded `-nn` reference (made where the tree was taken)
    /// and its root as `--sysfs-root` takes it.
    static func sysfsTrees() throws -> [(reference: String, root: String)] {
        try SourceCorpus.sysfsRoots.map { root in
            // The tarball's name is the root's parent folder's suffix; its lspci output sits beside it.
            let name = try #require(try FileManager.default.contentsOfDirectory(atPath: CLI.fixtures! + "/sysfs")
                .first { $0.hasSuffix(".tar.bz2") && root[1].hasSuffix("/" + String($0.dropFirst(6).dropLast(8))) })
            return (CLI.fixtures! + "/sysfs/" + name.dropLast(8) + ".sysfs-nn.txt", root[1])
        }
    }

    @Test(.needsFixtures)
    func listPlainIsLspciNNOnEverySysfsTree() throws {
        let trees = try Self.sysfsTrees()
        #expect(trees.count >= 2)
        for tree in trees {
            let recorded = try String(contentsOfFile: tree.reference, encoding: .utf8)
            let r = try CLI.run(["list", "--plain", "--sysfs-root", tree.root])
            #expect(r.status == 0 && !recorded.isEmpty && TestMachine.maskingNames(nn: r.stdout) == TestMachine.maskingNames(nn: recorded), "\(tree.reference)")
        }
    }

    @Test(.needsFixtures, .needsLspci)
    func listPlainIsThisMachinesLspciOnEverySysfsTree() throws {
        let trees = try Self.sysfsTrees()
        #expect(trees.count >= 2)
        for tree in trees {
            let expected = try #require(TestMachine.lspciOutput(["-A", "linux-sysfs", "-O", "sysfs.path=\(tree.root)/sys/bus/pci", "-nn"]))
            let r = try CLI.run(["list", "--plain", "--sysfs-root", tree.root])
            #expect(r.status == 0 && !expected.isEmpty && r.stdout == expected, "\(tree.root): differs from this machine's lspci")
        }
    }

    @Test(.needsLspci)
    func listPlainIsLspciNNOnThisMachine() throws {
        let lspci = try #require(TestMachine.lspciOutput(["-nn"]))
        let r = try CLI.run(["list", "--plain"])
        #expect(r.status == 0 && !lspci.isEmpty && r.stdout == lspci)
        // A filter that matches nothing prints nothing, as lspci does.
        let none = try CLI.run(["list", "--plain", "-d", "ffff:fffe"])
        #expect(none.status == 0 && none.stdout.isEmpty)
    }
}

/// Aliases as nvidia-smi users count them, and nvidia-smi topo's affinity columns.
@Suite struct AliasTests {
    @Test(.needsFixtures)
    func bmcAndIntegratedGraphicsAreVGANotGPU() throws {
        // flux-sched-butte (POWER9 + V100s): the ASPEED BMC display is vga0; the four V100s
        // are gpu0…gpu3 in PCI order, as nvidia-smi numbers them.
        let butte = try CLI.run(["list", "--json", "--hwloc", CLI.fixtures! + "/hwloc/flux-sched-butte.xml"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(butte.stdout.utf8)) as? [String: Any])
        let devices = try #require(doc["devices"] as? [[String: Any]])
        let aspeed = try #require(devices.first { $0["vendor_id"] as? String == "1a03" && ($0["class"] as? String)?.hasPrefix("03") == true })
        #expect(aspeed["alias"] as? String == "vga0" && aspeed["kind"] as? String == "vga")
        let gpus = devices.filter { ($0["alias"] as? String)?.hasPrefix("gpu") == true }
        #expect(gpus.map { $0["alias"] as? String } == ["gpu0", "gpu1", "gpu2", "gpu3"])
        #expect(gpus.allSatisfy { $0["vendor_id"] as? String == "10de" })
        #expect(gpus.compactMap { $0["bdf"] as? String } == gpus.compactMap { $0["bdf"] as? String }.sorted())
        // A laptop: Intel's integrated graphics (00:02.0) is vga0, the RTX is gpu0 (nvidia-smi's GPU 0).
        let laptop = try CLI.run(["list", "--dump", CLI.fixtures! + "/lspci/ml-alderlake-laptop-rtx3070ti-gl9755.dump"], env: ["COLUMNS": "200"])
        #expect(laptop.stdout.contains("00:02.0 vga0 ") && laptop.stdout.contains("01:00.0 gpu0 "))
    }

    @Test(.needsFixtures)
    func matrixHasCPUAndNUMAAffinity() throws {
        let r = try CLI.run(["matrix", "--hwloc", CLI.fixtures! + "/hwloc/flux-sched-butte.xml"], env: ["COLUMNS": "120"])
        #expect(r.stdout.contains("CPU affinity") && r.stdout.contains("NUMA"))
        let gpu2 = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("  gpu2 ") })
        let gpu0 = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("  gpu0 ") })
        // Socket 1's V100s sit under NUMA node 8 with CPUs 64-127 (the file's cpusets).
        #expect(gpu2.contains(" 64-127 ") && gpu2.contains(" 8 ") && gpu0.contains(" 0-63 ") && gpu0.contains(" 0 "))
        // A dump has no affinity: said so once, not shown as 0.
        let dump = try CLI.run(["matrix", "--dump", CLI.fixtures! + "/lspci/ml-alderlake-laptop-rtx3070ti-gl9755.dump"])
        #expect(dump.stdout.contains("CPU and NUMA affinity: not in this source") && !dump.stdout.contains("CPU affinity  "))
    }
}
