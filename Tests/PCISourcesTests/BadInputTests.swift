import Foundation
import Testing
@testable import PCISources
import PCITopology

/// Every bad input gets one error naming the file (and line or field) and what was expected.
@Suite struct BadInputTests {
    static func write(_ text: String, name: String = UUID().uuidString) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-\(name)").path
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    static let goodHeader = """
        00:00.0 Host bridge: Intel Corporation Device 0d57
        00: 86 80 57 0d 06 00 10 00 00 00 00 06 00 00 00 00
        10: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        20: 00 00 00 00 00 00 00 00 00 00 00 00 86 80 00 00
        30: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00

        """

    func error(_ body: () throws -> Topology) -> SourceError? {
        do { _ = try body(); return nil } catch let e as SourceError { return e } catch {
            Issue.record("unexpected error type: \(error)"); return nil
        }
    }

    @Test func goodMinimalDump() throws {
        let t = try DumpReader.load(path: Self.write(Self.goodHeader))
        #expect(t.devices.count == 1 && t.devices[0].vendorID == 0x8086)
    }

    @Test func missingFile() {
        let e = error { try DumpReader.load(path: "/nonexistent/x.dump") }
        #expect(e?.description == "/nonexistent/x.dump: cannot read dump: No such file or directory")
    }

    @Test func emptyFile() {
        let path = Self.write("")
        #expect(error { try DumpReader.load(path: path) }?.description.hasPrefix("\(path): empty file") == true)
    }

    @Test func truncatedDevice() {
        let path = Self.write(Self.goodHeader + "00:01.0 x\n00: 86 80 57 0d 06 00 10 00\n")
        let e = error { try DumpReader.load(path: path) }
        #expect(e?.line == 6)
        #expect(e?.message.contains("00:01.0 has only 8 bytes") == true)
    }

    @Test func garbledHexLine() {
        let path = Self.write(Self.goodHeader.replacingOccurrences(of: "10: 00 00 00 00", with: "10: 00 0g 00 00"))
        let e = error { try DumpReader.load(path: path) }
        #expect(e?.line == 3 && e?.message.contains("malformed hex line") == true)
    }

    @Test func notADumpAtAll() {
        let path = Self.write("hello\nworld\n\u{7f}ELF binary garbage\n")
        #expect(error { try DumpReader.load(path: path) }?.message.hasPrefix("no device found") == true)
    }

    @Test func offsetPast4096() {
        let path = Self.write(Self.goodHeader.replacingOccurrences(of: "30: 00", with: "1000: 00"))
        #expect(error { try DumpReader.load(path: path) }?.message.contains("past 4096") == true)
    }

    @Test func snapshotBrokenJSON() {
        let path = Self.write("{\"schema\": \"p2ptop.snapshot/1\",\n \"devices\": [}")
        let e = error { try Snapshot.load(path: path) }
        #expect(e?.line == 2 && e?.message.hasPrefix("invalid JSON") == true)
    }

    @Test func snapshotUnknownSchema() {
        let newer = Self.write("{\"schema\": \"p2ptop.snapshot/9\", \"devices\": []}")
        #expect(error { try Snapshot.load(path: newer) }?.description == "\(newer): field 'schema': unsupported version 'p2ptop.snapshot/9': this p2ptop reads \"p2ptop.snapshot/1\"")
        let other = Self.write("{\"schema\": \"p2ptop.matrix/1\"}")
        #expect(error { try Snapshot.load(path: other) }?.field == "schema")
        let none = Self.write("[1, 2]")
        #expect(error { try Snapshot.load(path: none) }?.message.contains("JSON object") == true)
    }

    /// The host facts and RDMA devices a snapshot records come back exactly; a bad value names
    /// its field.
    @Test func snapshotHostFactsAndRDMARoundTrip() throws {
        var t = Topology(devices: [], host: HostInfo(kernelRelease: "6.8.0", hostname: "gpu-box"), source: SourceInfo(kind: .live))
        t.host.facts = HostFacts(p2pdma: .enabled(evidence: "/boot/config-6.8.0"), iommuUnits: ["dmar0"], iommuDefaultDomain: "DMA-FQ",
                                 cmdlineFlags: ["intel_iommu=on"], lockdown: "none", iomemStrict: true, memlockSoft: 8 << 20, memlockHard: nil,
                                 capIPCLock: false, rdmaDevices: ["mlx5_0"])
        var port = RDMAPort(number: 1, state: .active, physState: "LinkUp", rate: RDMARate(width: 2, speed: 64), linkLayer: .infiniband, lid: 7,
                            transmittedBytes: 4096, receivedBytes: nil)
        port.gids = [RDMAGID(index: 3, gid: "0000:0000:0000:0000:0000:ffff:0a00:0001", type: "RoCE v2", netdev: "eth0")]
        t.host.rdma = RDMAInventory(devices: [RDMADevice(name: "mlx5_0", pciAddress: "0000:3b:00.0", nodeType: "CA", firmware: "20.39.1002",
                                                         nodeGUID: "b859:9f03:00d4:e5a2", ports: [port])], unavailable: nil, source: "verbs")
        let replay = try Snapshot.decode(Snapshot.encode(t), file: "x.json")
        #expect(replay.host.facts == t.host.facts)
        #expect(replay.host.rdma?.devices == t.host.rdma?.devices && replay.host.rdma?.source == "snapshot:verbs")
        let bad = Self.write("{\"schema\": \"p2ptop.snapshot/1\", \"host\": {\"facts\": {\"p2pdma_config\": \"maybe\"}}, \"devices\": []}")
        #expect(error { try Snapshot.load(path: bad) }?.field == "host.facts.p2pdma_config")
        let old = Self.write("{\"schema\": \"p2ptop.snapshot/1\", \"host\": {\"kernel\": \"5.15\"}, \"devices\": []}")
        let o = try Snapshot.load(path: old)
        #expect(o.host.facts == nil && o.host.rdma == nil, "older snapshots simply have none")
    }

    @Test func snapshotBadDeviceField() {
        let path = Self.write("{\"schema\": \"p2ptop.snapshot/1\", \"devices\": [{\"bdf\": \"0000:00:00.0\", \"config\": \"8680\"}]}")
        #expect(error { try Snapshot.load(path: path) }?.field == "devices[0].config")
    }

    @Test func sysfsRootMissingTree() {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-emptyroot-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(error { try SysfsSource.load(root: dir) }?.message.contains("sys/bus/pci/devices") == true)
        #expect(error { try SysfsSource.load(root: dir + "/nope") }?.message.contains("not a directory") == true)
    }

    /// A captured tree with a file libpci insists on removed: libpci's fatal error comes back
    /// as a SourceError (it would have called exit()).
    @Test func sysfsRootMissingFileIsReportedNotFatal() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-brokenroot-\(UUID().uuidString)")
        let dev = dir.appendingPathComponent("sys/bus/pci/devices/0000:00:00.0")
        try FileManager.default.createDirectory(at: dev, withIntermediateDirectories: true)
        for (name, value) in [("vendor", "0x8086"), ("device", "0x0d57"), ("class", "0x060000")] {
            try Data((value + "\n").utf8).write(to: dev.appendingPathComponent(name))
        }
        let e = error { try SysfsSource.load(root: dir.path) }
        #expect(e != nil)
        #expect(e?.message.hasPrefix("libpci:") == true)
    }
}

@Suite struct SnapshotTests {
    @Test(.enabled(if: Fixtures.available, Fixtures.skipMessage))
    func roundTripKeepsEveryByteAndFact() throws {
        let root = try Fixtures.extract("hwloc-2pa-pcidomain32bits")
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: root).deletingLastPathComponent().path) }
        let original = try SysfsSource.load(root: root)
        let path = BadInputTests.write("", name: "snap-\(UUID().uuidString).json")
        try Snapshot.write(original, to: path)
        let replay = try Snapshot.load(path: path)
        #expect(replay.devices == original.devices)
        #expect(replay.parents == original.parents && replay.aliases == original.aliases)
        #expect(Snapshot.encode(replay).serialized() == Snapshot.encode(original).serialized()
                    .replacingOccurrences(of: "\"kind\":\"sysfs-root\",\"path\":\"\(root)\"", with: "\"kind\":\"snapshot\",\"path\":\"\(path)\""))
    }

    @Test func jsonRoundTrip() throws {
        let value = JSON.object([("a", .array([.int(-1), .uint(UInt64.max), .double(2.5), .null, .bool(true)])),
                                 ("s", .string("quote \" back\\slash \n tab\t é"))])
        #expect(try JSON.parse(Array(value.serialized(pretty: true).utf8)) == value)
        #expect(throws: JSONParseError.self) { try JSON.parse(Array("{\"a\": 1,}".utf8)) }
        #expect(throws: JSONParseError.self) { try JSON.parse(Array(String(repeating: "[", count: 500).utf8)) }
    }
}

/// The live machine against `lspci -D -n` (skipped where either is missing).
@Suite struct LiveTests {
    static var lspci: String? {
        ["/usr/bin/lspci", "/usr/sbin/lspci", "/bin/lspci"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }
    static var canRun: Bool { lspci != nil && FileManager.default.fileExists(atPath: "/sys/bus/pci/devices") }

    @Test(.enabled(if: canRun, "needs lspci (pciutils) and /sys/bus/pci"))
    func liveDevicesEqualLspci() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.lspci!)
        p.arguments = ["-D", "-n"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let expected = out.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
        let t = try SysfsSource.load(root: "/")
        #expect(t.devices.map { $0.bdf.description } == expected)
        #expect(t.source.kind == .live)
        #expect(t.host.kernelRelease != nil)
    }
}
