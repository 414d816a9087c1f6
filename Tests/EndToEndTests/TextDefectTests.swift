import Foundation
import Testing
import TestSupport

/// Issue 24's text defects, each held by a test that failed before its fix.
@Suite struct TextDefectTests {
    static let laptop = "lspci/ml-alderlake-laptop-rtx3070ti-gl9755.dump"
    func fixture(_ rel: String) -> String { (CLI.fixtures ?? "/nonexistent") + "/" + rel }

    func json(_ args: [String]) throws -> [String: Any] {
        let r = try CLI.run(args)
        #expect(r.status == 0, "\(args): \(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout.prefix(300))")
    }

    /// The matrix shows the endpoints that can do P2P by default: on the laptop the GPU, both
    /// NVMe drives and the NIC, not the chipset's SMBus, audio or serial functions; --all has them.
    @Test(.needsFixtures) func theMatrixShowsTheDevicesThatMatter() throws {
        let dump = fixture(Self.laptop)
        let kinds = { (d: [String: Any]) in ((d["devices"] as? [[String: Any]]) ?? []).compactMap { $0["kind"] as? String } }
        let p2p = kinds(try json(["matrix", "--dump", dump, "--json"]))
        let all = kinds(try json(["matrix", "--dump", dump, "--all", "--json"]))
        #expect(p2p.contains("gpu") && p2p.filter { $0 == "nvme" }.count == 2 && p2p.contains("nic"), "\(p2p)")
        #expect(!p2p.contains("other") && !p2p.contains("vga"), "\(p2p)")
        #expect(all.count > p2p.count + 5 && all.contains("other"), "\(all.count) vs \(p2p.count)")
        #expect(kinds(try json(["matrix", "--dump", dump, "--kind", "all", "--json"])) == all)
    }

    /// `path` keeps its columns apart: "(turn-around point)" was glued to "ACS…" where the
    /// common upstream port has an ACS capability (the laptop's root port above the GPU).
    @Test(.needsFixtures) func pathColumnsStayApart() throws {
        let turn = try CLI.run(["path", "01:00.0", "01:00.1", "--dump", fixture(Self.laptop)], env: ["COLUMNS": "200"])
        let line = try #require(turn.stdout.split(separator: "\n").first { $0.contains("(turn-around point)") }, "\(turn.stdout)")
        #expect(line.contains("(turn-around point)  ") && line.contains("ACSCtl"), "\(line)")
        for fabric in ["icelake-gpu-switch", "sapphire-h100", "epyc-mi25"] {
            let r = try CLI.run(["path", "gpu0", "nic0", "--fabric", fabric], env: ["COLUMNS": "200"])
            #expect(r.status == 0 && !r.stdout.contains(")ACS") && !r.stdout.contains("sACS"), "\(fabric): \(r.stdout)")
        }
    }

    /// `show` lists every capability by offset under its heading, as lspci does, and the link's
    /// payload ceiling with the MPS it was figured at.
    @Test(.needsFixtures) func showListsTheCapabilities() throws {
        let r = try CLI.run(["show", "01:00.0", "--dump", fixture(Self.laptop)], env: ["COLUMNS": "300"])
        #expect(r.status == 0)
        let list = try #require(r.stdout.split(separator: "\n").first { $0.contains("list ") && $0.contains("[60] ") }, "\(r.stdout)")
        for cap in ["PM", "MSI", "Express"] { #expect(list.contains(cap), "\(list)") }
        #expect(r.stdout.contains("    extended") && r.stdout.contains("[100] "), "\(r.stdout)")
        #expect(r.stdout.contains("GB/s of payload per direction") && r.stdout.contains("DevCtl") && r.stdout.contains("MaxPayload 256 bytes"), "\(r.stdout)")
    }

    /// hwloc files: OS devices and NUMA nodes on the tree's lines, lstopo's link speeds kept.
    @Test(.needsFixtures) func hwlocTreeHasOSDevicesNodesAndLinks() throws {
        let r = try CLI.run(["tree", "--hwloc", fixture("hwloc/flux-sched-corona11.xml")], env: ["COLUMNS": "300"])
        #expect(r.status == 0)
        let nvme = try #require(r.stdout.split(separator: "\n").first { $0.contains("[nvme0") }, "\(r.stdout)")
        #expect(nvme.contains("nvme0n1") && nvme.contains("node0"), "\(nvme)")
        #expect(r.stdout.contains("enp3s0f0") && r.stdout.contains("GB/s"), "\(r.stdout)")
        // The InfiniBand HCA (class 0c06) is among the NICs the matrix pairs.
        let ib = try CLI.run(["list", "--hwloc", fixture("hwloc/hwloc-24em64t-2n6c2t-pci.xml"), "--json"])
        let devices = try #require((try JSONSerialization.jsonObject(with: Data(ib.stdout.utf8)) as? [String: Any])?["devices"] as? [[String: Any]])
        let hca = devices.filter { ($0["class"] as? String)?.hasPrefix("0c06") == true }
        #expect(!hca.isEmpty && hca.allSatisfy { $0["kind"] as? String == "nic" }, "\(hca)")
    }

    /// `tree --hwloc` lists what lstopo lists for PCI, on every hwloc fixture: each PCI
    /// object's OS devices (Block, Network, OpenFabrics, GPU, DMA, Co-Processor) by name, and
    /// each function (by `list`'s BDF).
    @Test(.needsFixtures) func hwlocTreeListsWhatLstopoListsForPCI() throws {
        let dir = fixture("hwloc")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".xml") }.sorted()
        var checked = 0
        for name in names {
            let base = dir + "/" + String(name.dropLast(4))
            guard let lstopo = try? String(contentsOfFile: base + ".lstopo-v.txt", encoding: .utf8) else { continue }
            // OS devices under a PCI object: `Block(Disk) L#0 (…) "nvme0n1"`, `GPU L#1 "card4"`.
            var expected: [(busid: String, os: String)] = [], busid: String?, pciIndent = -1
            for line in lstopo.split(separator: "\n") {
                let indent = line.prefix { $0 == " " }.count, body = line.dropFirst(indent)
                if body.hasPrefix("PCI L#"), let r = body.range(of: "busid=") {
                    busid = String(body[r.upperBound...].prefix { $0 != " " && $0 != ")" }); pciIndent = indent; continue
                }
                if indent <= pciIndent { busid = nil }
                guard let b = busid, indent > pciIndent,
                      ["Block", "Network", "OpenFabrics", "GPU", "DMA", "Co-Processor"].contains(where: { body.hasPrefix($0) }),
                      body.hasSuffix("\""), let open = body.dropLast().lastIndex(of: "\"") else { continue }
                expected.append((b, String(body[body.index(after: open)..<body.index(before: body.endIndex)])))
            }
            let tree = try CLI.run(["tree", "--hwloc", base + ".xml"], env: ["COLUMNS": ""])
            #expect(tree.status == 0, "\(name): \(tree.stderr)")
            // hwloc's own test files with one bus ID twice keep the first function (and its OS devices).
            let duplicated = tree.stderr.contains("appears twice")
            for e in expected where !duplicated {
                #expect(tree.stdout.contains(e.os), "\(name): lstopo lists \(e.os) under \(e.busid); tree --hwloc does not")
                checked += 1
            }
        }
        #expect(checked > 50, "\(checked) OS devices compared")
    }

    /// A dump has no BAR sizes, yet a BAR with a Resizable BAR control says its current size:
    /// `show` no longer prints "size unknown" above "ReBAR BAR 1: current 8G".
    @Test(.needsFixtures) func aResizableBARsSizeIsItsControlsWhereTheDumpHasNone() throws {
        let r = try CLI.run(["show", "gpu0", "--dump", fixture("lspci/ml-alderlake-laptop-rtx3070ti-gl9755.dump")], env: ["COLUMNS": ""])
        let bar1 = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("    1  mem ") }, "\(r.stdout)")
        #expect(bar1.contains("size 8G (its Resizable BAR control)") && r.stdout.contains("BAR 1: current 8G"), "\(bar1)")
    }

    @Test func notXMLIsSaidSo() throws {
        let passwd = CLI.temp("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n")
        let r = try CLI.run(["tree", "--hwloc", passwd])
        #expect(r.status == 2 && r.stderr.contains(":1: not XML") && !r.stderr.contains("no element found"), "\(r.stderr)")
        let empty = CLI.temp("")
        #expect(try CLI.run(["tree", "--nccl", empty]).stderr.contains("empty file"))
    }

    /// `bench odirect` on a file smaller than its 256M default reads the whole file; a --size
    /// past the end is refused, naming the file's length; a quote in the name reaches dd intact.
    @Test(.needsODirect) func benchODirectFitsTheFile() throws {
        let file = URL(fileURLWithPath: TestMachine.buildDirectory).appendingPathComponent("bench it's-\(UUID().uuidString.prefix(6)).bin")
        try Data(repeating: 0x5a, count: 8 << 20).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let r = try CLI.run(["bench", "odirect", "--file", file.path, "--runs", "1"])
        #expect(r.status == 0 && r.stdout.contains("O_DIRECT read 8M"), "\(r.stdout) \(r.stderr)")
        let past = try CLI.run(["bench", "odirect", "--file", file.path, "--size", "64M", "--runs", "1"])
        #expect(past.status == 2 && past.stderr.contains("past the end") && past.stderr.contains("8M"), "\(past.stderr)")
    }
}
