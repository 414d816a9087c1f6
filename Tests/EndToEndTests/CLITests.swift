import Foundation
import Testing
import TestSupport

/// Drives the built `p2ptop` binary: output contracts, exit codes, stderr, speed of failure.
struct CLI {
    static let binary: URL = {
        if let env = ProcessInfo.processInfo.environment["P2PTOP_BIN"] { return URL(fileURLWithPath: env) }
        // The test bundle sits next to the executable in the build directory.
        let bundleDir = Bundle.main.bundleURL.deletingLastPathComponent()
        for dir in [bundleDir, bundleDir.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("p2ptop")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.appendingPathComponent(".build/debug/p2ptop")
    }()

    static let fixtures: String? = TestMachine.fixtures

    struct Result { var status: Int32; var stdout: String; var stderr: String; var seconds: Double }

    /// `shell`: run /bin/sh with `args` instead (for ulimit and the like).
    static func run(_ args: [String], env: [String: String] = [:], shell: Bool = false) throws -> Result {
        let p = Process()
        p.executableURL = shell ? URL(fileURLWithPath: "/bin/sh") : binary
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        let start = Date()
        try p.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self), seconds: Date().timeIntervalSince(start))
    }

    static func temp(_ text: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-e2e-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }
}

@Suite struct CLITests {
    @Test(.needsFixtures)
    func listJSONContract() throws {
        let r = try CLI.run(["list", "--json", "--dump", CLI.fixtures! + "/lspci/ml-alderlake-laptop-rtx3070ti-gl9755.dump"])
        #expect(r.status == 0 && r.stderr.isEmpty)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(doc["schema"] as? String == "p2ptop.topology/1")
        let devices = try #require(doc["devices"] as? [[String: Any]])
        #expect(devices.count == 29)
        let gpu = try #require(devices.first { $0["bdf"] as? String == "0000:01:00.0" })
        #expect(gpu["vendor_id"] as? String == "10de" && gpu["class"] as? String == "0300")
        #expect(gpu["parent"] as? String == "0000:00:01.0" && gpu["alias"] as? String == "gpu0")
        let bars = try #require(gpu["bars"] as? [[String: Any]])
        let bar1 = try #require(bars.first { $0["index"] as? Int == 1 })
        #expect(bar1["address"] as? String == "0x6000000000" && bar1["is_64bit"] as? Bool == true
                && bar1["prefetchable"] as? Bool == true && bar1["type"] as? String == "mem" && bar1["size"] is NSNull)
        let link = try #require(gpu["link"] as? [String: Any])
        #expect((link["cap"] as? [String: Any])?["speed_gts"] as? Double == 16)
        #expect((link["status"] as? [String: Any])?["width"] as? Int == 8)
        let rootPort = try #require(devices.first { $0["bdf"] as? String == "0000:00:06.0" })
        let acs = try #require(rootPort["acs"] as? [String: [String]])
        #expect(acs["cap"]?.contains("ReqRedir") == true)
        #expect(devices.first { $0["bdf"] as? String == "0000:00:00.0" }?["parent"] is NSNull)
    }

    @Test func badInputIsOneLineExitTwoAndFast() throws {
        let dumpHeader = "00:00.0 x\n00: 86 80 57 0d 06 00 10 00 00 00 00 06 00 00 00 00\n"
        let cases: [([String], String)] = [
            (["list", "--dump", "/nonexistent.dump"], "/nonexistent.dump: cannot read dump"),
            (["list", "--dump", CLI.temp("")], "empty file"),
            (["list", "--dump", CLI.temp(dumpHeader)], "truncated dump"),
            (["list", "--dump", CLI.temp(dumpHeader + "10: 0x 00\n")], ":3: malformed hex line"),
            (["list", "--snapshot", CLI.temp("{\"schema\": ")], ":1: invalid JSON"),
            (["list", "--snapshot", CLI.temp("{\"schema\": \"p2ptop.snapshot/2\", \"devices\": []}")], "field 'schema': unsupported version"),
            (["tree", "--sysfs-root", "/nonexistent-root"], "not a directory"),
            (["tree", "--hwloc", CLI.temp("<topology>\n<object type=\"Machine\">\n</topology>\n")], ":3: </topology> closes <object> opened on line 2"),
            (["list", "--hwloc", CLI.temp("<topology><object type=\"PCIDev\" pci_busid=\"0000:01:00.0\" pci_type=\"0200\"/></topology>")],
             ":1: pci_type '0200': expected"),
            (["list", "--dump", "a", "--snapshot", "b"], "choose one source"),
            (["list", "--bogus"], "--bogus"),
            (["list", "-s", "zz:1", "--dump", "/dev/null"], "invalid bus 'zz'"),
        ]
        for (args, expected) in cases {
            let r = try CLI.run(args)
            #expect(r.status == 2, "\(args): exit \(r.status)")
            #expect(r.stderr.contains(expected), "\(args): stderr was \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(args): stdout must stay empty")
            #expect(r.seconds < 1.0, "\(args) took \(r.seconds) s")
            if !args.contains("--bogus") && !expected.contains("choose one source") {
                #expect(r.stderr.split(separator: "\n").count == 1, "\(args): one line, was \(r.stderr)")
            }
        }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/sys/bus/pci/devices"), "no /sys/bus/pci here"))
    func liveSnapshotReplaysIdentically() throws {
        let live = try CLI.run(["list", "--json"])
        #expect(live.status == 0)
        let path = CLI.temp("")
        let snap = try CLI.run(["snapshot", "-o", path])
        #expect(snap.status == 0)
        let replay = try CLI.run(["list", "--json", "--snapshot", path])
        #expect(replay.status == 0)
        #expect(replay.stdout == live.stdout)
        let tree = try CLI.run(["tree", "--snapshot", path, "--plain"])
        #expect(tree.stdout.hasPrefix("-[0000:00]-"))
        // The doctor's host checks and the RDMA devices travel with the snapshot.
        let liveDoctor = try CLI.run(["doctor", "--json"]), replayDoctor = try CLI.run(["doctor", "--json", "--snapshot", path])
        let host = { (r: CLI.Result) in ((try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any])?["host"] as? [String: Any] }
        #expect(host(replayDoctor)?["p2pdma_config"] as? String == host(liveDoctor)?["p2pdma_config"] as? String && host(replayDoctor) != nil)
        let rdma = try CLI.run(["rdma", "--json", "--snapshot", path])
        #expect(rdma.status == 0 && rdma.stdout.contains("\"source\": \"snapshot:verbs\""))
    }

    @Test(.needsFixtures)
    func colourFollowsFlagsAndNoColor() throws {
        let dump = CLI.fixtures! + "/lspci/pciutils-cap-exp-lnkcap2.dump"
        let coloured = try CLI.run(["tree", "--dump", dump, "--color", "always"], env: ["NO_COLOR": ""])
        #expect(coloured.stdout.contains("\u{1b}["))
        let plain = try CLI.run(["tree", "--dump", dump, "--color", "always"], env: ["NO_COLOR": "1"])
        #expect(!plain.stdout.contains("\u{1b}["))
        // Without a terminal a bare p2ptop says where the text output is, in one line.
        let bare = try CLI.run(["--dump", dump])
        #expect(bare.status == 2 && bare.stderr.contains("p2ptop tree --dump") && bare.stderr.split(separator: "\n").count == 1)
    }

    @Test(.needsFixtures)
    func showResolvesAliases() throws {
        let dump = CLI.fixtures! + "/lspci/ml-alderlake-laptop-rtx3070ti-gl9755.dump"
        let r = try CLI.run(["show", "nvme1", "--dump", dump, "--json"])
        #expect(r.status == 0)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(doc["schema"] as? String == "p2ptop.device/1")
        #expect((doc["device"] as? [String: Any])?["bdf"] as? String == "0000:03:00.0")
        let missing = try CLI.run(["show", "gpu9", "--dump", dump])
        #expect(missing.status == 2 && missing.stderr.contains("'gpu9'") && missing.stderr.contains("alias"))
    }
}
