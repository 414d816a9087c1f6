import Foundation
import Testing

/// `p2ptop diff`: equal is exit 0; each kind of change, made in a snapshot, is reported —
/// first when it changes a P2P verdict — and exit is 1; a dump against its sysfs capture
/// reports only what the dump cannot know (nothing, said so).
@Suite struct DiffTests {
    typealias Doc = [String: Any]

    static func snapshot(_ args: [String]) throws -> Doc {
        let r = try CLI.run(["snapshot"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? Doc, "\(r.stdout.prefix(200)) \(r.stderr)")
    }

    static func write(_ doc: Doc) throws -> String {
        let path = CLI.temp("")
        try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Edits one device of a snapshot.
    static func edit(_ doc: Doc, _ bdf: String, _ change: (inout Doc) -> Void) -> Doc {
        var d = doc
        var devices = d["devices"] as! [Doc]
        let i = devices.firstIndex { $0["bdf"] as? String == bdf }!
        change(&devices[i])
        d["devices"] = devices
        return d
    }

    /// The config bytes of a device, edited in place.
    static func config(_ dev: inout Doc, _ change: (inout [UInt8]) -> Void) {
        let hex = dev["config"] as! String
        var bytes = stride(from: 0, to: hex.count, by: 2).map { UInt8(hex.dropFirst($0).prefix(2), radix: 16)! }
        change(&bytes)
        dev["config"] = bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The offset of an extended capability (ACS: 0x0d) or a standard one (Express: 0x10).
    static func extCap(_ b: [UInt8], _ id: UInt16) -> Int? {
        var off = 0x100
        while off >= 0x100 && off + 4 <= b.count {
            let h = UInt32(b[off]) | UInt32(b[off + 1]) << 8 | UInt32(b[off + 2]) << 16 | UInt32(b[off + 3]) << 24
            if UInt16(h & 0xffff) == id { return off }
            off = Int(h >> 20)
            if off == 0 { return nil }
        }
        return nil
    }

    static func stdCap(_ b: [UInt8], _ id: UInt8) -> Int? {
        var off = Int(b[0x34])
        var guardCount = 0
        while off != 0 && off + 1 < b.count && guardCount < 48 {
            if b[off] == id { return off }
            off = Int(b[off + 1]); guardCount += 1
        }
        return nil
    }

    func diff(_ a: String, _ b: String, _ extra: [String] = []) throws -> (Int32, Doc) {
        let r = try CLI.run(["diff", a, b, "--json"] + extra)
        guard let doc = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? Doc else {
            Issue.record("diff \(a) \(b): exit \(r.status): \(r.stderr)")
            return (r.status, [:])
        }
        return (r.status, doc)
    }

    @Test func theLiveMachineEqualsItsOwnSnapshot() throws {
        let snap = CLI.temp("")
        #expect(try CLI.run(["snapshot", "-o", snap]).status == 0)
        let (status, d) = try diff("live", snap)
        #expect(status == 0 && d["equal"] as? Bool == true && (d["changes"] as? [Any])?.isEmpty == true)
        let text = try CLI.run(["diff", "live", snap])
        #expect(text.status == 0 && text.stdout.contains("equal"))
    }

    @Test(.needsFixtures)
    func statedTreesAndNVLinksSurviveASnapshot() throws {
        for source in [["--nccl", CLI.fixtures! + "/nccl/aws-p4d-24xl-topo.xml"], ["--hwloc", CLI.fixtures! + "/hwloc/hwloc-power8gpudistances.xml"]] {
            let snap = CLI.temp("")
            #expect(try CLI.run(["snapshot", "-o", snap] + source).status == 0)
            let (status, d) = try diff(source[1], snap)
            #expect(status == 0 && d["equal"] as? Bool == true, "\(source): \(d["changes"] ?? "")")
        }
    }

    @Test func eachKindOfChangeIsReportedVerdictsFirst() throws {
        let base = try Self.snapshot(["--fabric", "icelake-gpu-switch"])
        let golden = try Self.write(base)
        func changes(_ edited: Doc, _ extra: [String] = []) throws -> [Doc] {
            let (status, d) = try diff(golden, try Self.write(edited), extra)
            let c = d["changes"] as? [Doc] ?? []
            #expect(status == (c.isEmpty ? 0 : 1))
            return c
        }
        // A driver swapped (nvme → vfio-pci): only that.
        var c = try changes(Self.edit(base, "0000:1b:00.0") { d in var s = d["sysfs"] as! Doc; s["driver"] = "vfio-pci"; d["sysfs"] = s })
        #expect(c.count == 1 && c[0]["field"] as? String == "driver" && c[0]["before"] as? String == "nvme" && c[0]["after"] as? String == "vfio-pci")
        // ACS redirect turned on at the switch port above nvme1: the pair's verdict changes, reported first.
        c = try changes(Self.edit(base, "0000:18:03.0") { d in
            Self.config(&d) { b in let off = Self.extCap(b, 0x0d)!; b[off + 6] |= 0x0c }   // RR and CR
        })
        #expect(c.first?["field"] as? String == "verdict", "\(c)")
        #expect(c.contains { $0["field"] as? String == "verdict" && ($0["before"] as? String)?.hasPrefix("BUS_ADDR") == true })
        #expect(c.contains { $0["field"] as? String == "acs" && $0["device"] as? String == "0000:18:03.0" })
        // The NIC's link trained at x8 instead of x16.
        c = try changes(Self.edit(base, "0000:1a:00.0") { d in
            Self.config(&d) { b in let off = Self.stdCap(b, 0x10)!; b[off + 0x12] = (b[off + 0x12] & 0x0f) | 0x80; b[off + 0x13] = 0 }
        })
        let link = try #require(c.first { $0["field"] as? String == "link" })
        #expect(link["before"] as? String == "16GT/s x16" && link["after"] as? String == "16GT/s x8" && (link["text"] as? String)?.contains("below its") == true)
        // nvme1's CMB no longer published.
        c = try changes(Self.edit(base, "0000:1c:00.0") { d in
            var s = d["sysfs"] as! Doc; var p = s["p2pmem"] as! Doc; p["published"] = false; s["p2pmem"] = p; d["sysfs"] = s
        })
        #expect(c.count == 1 && c[0]["field"] as? String == "p2pmem" && (c[0]["after"] as? String)?.contains("not published") == true)
        // gpu0's BAR 1 at 32G instead of 64G.
        c = try changes(Self.edit(base, "0000:19:00.0") { d in
            var s = d["sysfs"] as! Doc; var r = s["resources"] as! [[Any]]; r[1][1] = 32 << 30; s["resources"] = r; d["sysfs"] = s
        })
        #expect(c.count == 1 && c[0]["field"] as? String == "bar_size" && c[0]["after"] as? String == "\(32 << 30)")
        // A function gone: removed, and every pair it was in is not compared (no verdict noise).
        var gone = base
        gone["devices"] = (base["devices"] as! [Doc]).filter { $0["bdf"] as? String != "0000:1b:00.0" }
        c = try changes(gone)
        #expect(c.count == 1 && c[0]["field"] as? String == "function" && (c[0]["text"] as? String)?.contains("removed") == true)
        // The same NVMe at another address on its bus: renumbered, not removed and added.
        c = try changes(Self.edit(base, "0000:1b:00.0") { d in d["bdf"] = "0000:1b:01.0" })
        #expect(c.count == 1 && (c[0]["text"] as? String)?.contains("renumbered to 0000:1b:01.0") == true, "\(c)")
        // --ignore leaves a kind out; equal again.
        let (s2, d2) = try diff(golden, try Self.write(Self.edit(base, "0000:1b:00.0") { d in var s = d["sysfs"] as! Doc; s["driver"] = "x"; d["sysfs"] = s }), ["--ignore", "driver"])
        #expect(s2 == 0 && d2["equal"] as? Bool == true && d2["ignored"] as? [String] == ["driver"])
        // The text view: one change per line, within 80 columns.
        let text = try CLI.run(["diff", golden, try Self.write(gone)], env: ["COLUMNS": "80"])
        #expect(text.status == 1 && text.stdout.contains("1 change") && text.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 })
    }

    @Test(.needsFixtures)
    func aDumpAgainstItsSysfsCaptureDiffersOnlyInWhatTheDumpCannotKnow() throws {
        for root in SourceCorpus.sysfsRoots {
            let name = URL(fileURLWithPath: root[1]).lastPathComponent
            let dump = CLI.fixtures! + "/sysfs/hwloc-" + name + ".dump"
            let (status, d) = try diff(dump, root[1])
            #expect(status == 0 && d["equal"] as? Bool == true, "\(name): \(d["changes"] ?? "")")
            #expect((d["not_compared"] as? [String])?.first?.contains("a dump holds config space only") == true)
        }
        let bad = try CLI.run(["diff", "/nonexistent", "live"])
        #expect(bad.status == 2 && bad.stderr.contains("/nonexistent: no such file"))
    }
}
