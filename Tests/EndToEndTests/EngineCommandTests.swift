import Foundation
import Testing
import TestSupport

/// fabrics, transfer and scenario through the binary: the acceptance contracts.
@Suite struct EngineCommandTests {
    func json(_ r: CLI.Result) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    /// `provider`: the pool the kernel would choose, as JSON, and exit 1 when none can serve.
    @Test func providerContract() throws {
        let r = try CLI.run(["provider", "--fabric", "icelake-gpu-switch", "nic0", "nvme0", "--json"])
        #expect(r.status == 0)
        let d = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(d["schema"] as? String == "p2ptop.provider/1" && (d["closest"] as? [String]) == ["0000:1c:00.0"])
        let none = try CLI.run(["provider", "--fabric", "icelake-gpu-switch", "nvme2"], env: ["NO_COLOR": "1"])
        #expect(none.status == 1 && none.stdout.contains("refused") && none.stdout.contains("the kernel would use host memory"))
        let usage = try CLI.run(["provider", "--fabric", "icelake-gpu-switch"])
        #expect(usage.status == 2)
    }

    @Test func fabricsContract() throws {
        let r = try CLI.run(["fabrics", "--json"])
        let d = try json(r)
        #expect(r.status == 0 && d["schema"] as? String == "p2ptop.fabrics/1")
        let fabrics = try #require(d["fabrics"] as? [[String: Any]])
        #expect(fabrics.count >= 3 && fabrics.allSatisfy { $0["name"] is String && $0["description"] is String })
        let first = try #require(fabrics.first?["aliases"] as? [String])
        #expect(["nvme0", "nvme1", "gpu0", "nic0"].allSatisfy(first.contains))
        let tree = try CLI.run(["tree", "--fabric", fabrics[2]["name"] as! String], env: ["COLUMNS": "200"])
        #expect(tree.status == 0 && tree.stdout.contains("MI25"))
    }

    @Test func transferContract() throws {
        let ok = try CLI.run(["transfer", "--fabric", "icelake-gpu-switch", "--from", "nvme0", "--to", "nvme1", "--size", "64M", "--unthrottled", "--json"])
        let d = try json(ok)
        #expect(ok.status == 0 && d["schema"] as? String == "p2ptop.transfer/1" && d["ok"] as? Bool == true)
        #expect(d["bytes"] as? Int == 64 << 20 && d["verified"] as? Bool == true && d["map_type"] as? String == "BUS_ADDR")
        let pins = try #require(d["pins"] as? [String: Any])
        #expect(pins["acquired"] as? Int == 16384 && pins["released"] as? Int == 16384 && pins["outstanding_after"] as? Int == 0)
        #expect(d["real"] as? Bool == false && d["rate_source"] as? String == "engine" && d["queue"] is NSNull)
        #expect(d["error"] is NSNull && (d["bytes_per_s"] as? Double ?? 0) > 0 && d["bottleneck"] is [String: Any])

        let refused = try CLI.run(["transfer", "--fabric", "icelake-gpu-switch", "--from", "nic0", "--to", "nvme1", "--via", "rdma", "--size", "8M", "--json"])
        let e = try json(refused)
        #expect(refused.status == 1 && e["ok"] as? Bool == false && (e["error"] as? [String: Any])?["errno"] as? String == "EFAULT")

        let old = try CLI.run(["transfer", "--fabric", "icelake-gpu-switch", "--from", "nvme0", "--to", "nvme1", "--size", "8M", "--kernel", "5.15", "--json"])
        let oldDoc = try json(old)
        #expect(old.status == 1 && (oldDoc["error"] as? [String: Any])?["errno"] as? String == "EFAULT")

        let usage = try CLI.run(["transfer", "--fabric", "icelake-gpu-switch", "--from", "nvme0", "--to", "nvme1", "--size", "lots"])
        #expect(usage.status == 2 && usage.stdout.isEmpty)
    }

    @Test func scenarioContract() throws {
        let list = try json(try CLI.run(["scenario", "list", "--json"]))
        #expect(list["schema"] as? String == "p2ptop.scenarios/1")
        let names = (list["scenarios"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(names.contains("seed-story"))
        let run = try CLI.run(["scenario", "run", "seed-story", "--json"])
        #expect(run.status == 0)
        let lines = run.stdout.split(separator: "\n")
        let last = try #require(try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as? [String: Any])
        #expect(last["event"] as? String == "end")
        let leaks = try #require(last["leaks"] as? [String: Int])
        #expect(leaks.values.allSatisfy { $0 == 0 } && leaks["pins"] == 0 && leaks["pages"] == 0 && leaks["pool_bytes"] == 0)
        for line in lines.dropLast() {
            let ev = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(ev["event"] as? String == "step" && ev["matched"] as? Bool == true)
        }
        let bad = try CLI.run(["scenario", "run", CLI.temp("map a kind=host\nexplode\n")])
        #expect(bad.status == 2 && bad.stderr.contains(":2: unknown action 'explode'"))
    }
}

@Suite struct WatchCommandTests {
    /// `--trace`: a Chrome/Perfetto JSON trace of counter events, pins first among them.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/vmstat"), "no /proc/vmstat"))
    func traceIsAPerfettoCounterTrace() throws {
        let path = CLI.temp("")
        let r = try CLI.run(["watch", "--count", "3", "--interval", "0.05", "--trace", path])
        #expect(r.status == 0)
        let all = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [[String: Any]])
        // Metadata first (Perfetto names the process and the track), then counter events.
        let metadata = all.prefix { $0["ph"] as? String == "M" }
        #expect(metadata.contains { $0["name"] as? String == "process_name" && (($0["args"] as? [String: Any])?["name"] as? String)?.hasPrefix("p2ptop watch") == true })
        #expect(metadata.contains { $0["name"] as? String == "thread_name" })
        let events = Array(all.dropFirst(metadata.count))
        #expect(!events.isEmpty && events.allSatisfy { $0["ph"] as? String == "C" && $0["args"] is [String: Any] })
        let pins = events.filter { $0["name"] as? String == "pins" }
        #expect(pins.count == 3 && pins.allSatisfy { ($0["args"] as? [String: Any])?["outstanding"] != nil })
        let ts = pins.compactMap { $0["ts"] as? Double }
        #expect(ts == ts.sorted() && (ts.last ?? 0) >= 90_000, "microseconds: two 50 ms intervals")
        #expect(events.contains { $0["name"] as? String == "pins per second" }, "rates from the second sample on")
        let bad = try CLI.run(["watch", "--count", "1", "--trace", "/nonexistent-dir/t.json"])
        #expect(bad.status == 2 && bad.stderr.contains("/nonexistent-dir/t.json: cannot write"))
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/vmstat"), "no /proc/vmstat"))
    func watchContractReadsTheRealVmstat() throws {
        let r = try CLI.run(["watch", "--json", "--count", "3", "--interval", "0.05"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        let vmstat = (try? String(contentsOfFile: "/proc/vmstat", encoding: .utf8)) ?? ""
        let hasPins = vmstat.contains("nr_foll_pin_acquired")
        for line in lines {
            let d = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(d["schema"] as? String == "p2ptop.sample/2" && d["time_unix_seconds"] is Double)
            if hasPins {
                let pins = try #require(d["pins"] as? [String: Any])
                let a = try #require(pins["acquired_pages"] as? Double), rel = try #require(pins["released_pages"] as? Double)
                #expect(pins["outstanding_pages"] as? Double == a - rel)
                let metrics = try #require(d["metrics"] as? [[String: Any]])
                #expect(metrics.contains { $0["name"] as? String == "p2ptop_foll_pin_acquired_pages_total" && $0["value"] as? Double == a })
            }
        }
        let om = CLI.temp("")
        let o = try CLI.run(["watch", "--count", "1", "--interval", "0.05", "--openmetrics", om])
        #expect(o.status == 0 && ((try? String(contentsOfFile: om, encoding: .utf8)) ?? "").hasSuffix("# EOF\n"))
        let bad = try CLI.run(["watch", "--interval", "0.01"])
        #expect(bad.status == 2)
        // Text: two header lines, then one row per sample under them, within 80 columns.
        let text = try CLI.run(["watch", "--count", "2", "--interval", "0.05"])
        let rows = text.stdout.split(separator: "\n")
        #expect(rows.count == 4 && rows[1].contains("held") && rows[1].contains("VmPin") && rows[1].contains("rx"))
        #expect(rows.allSatisfy { $0.count <= 80 } && rows[3].hasPrefix("    2 "))
    }
}

@Suite struct RealODirectTests {
    static var pinsCounted: Bool { ((try? String(contentsOfFile: "/proc/vmstat", encoding: .utf8)) ?? "").contains("nr_foll_pin_acquired") }

    /// At least `n` pins, exactly when the document says the counts are exact, else within
    /// the bound it gives (vmstat's per-CPU batches; no vm/stat_refresh without --allow-write).
    static func pinsAtLeast(_ pins: [String: Any]?, _ n: Int, key: String = "acquired") -> Bool {
        guard let pins, let got = pins[key] as? Int, let exact = pins["exact"] as? Bool else { return false }
        if exact { return got >= n && pins["bound"] is NSNull }
        guard let bound = pins["bound"] as? Int, bound > 0 else { return false }
        return got >= n - bound
    }

    /// The live-machine contract: 64 MiB from a file into host memory with O_DIRECT, every byte
    /// verified, at least one real kernel pin per 4 KiB page.
    @Test(.enabled(if: pinsCounted, "this kernel has no nr_foll_pin_* counters"), .needsODirect)
    func fileToHostMemoryWithRealPins() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("odirect-test-\(UUID().uuidString.prefix(8)).bin")
        var bytes = [UInt8](repeating: 0, count: 64 << 20)
        var x: UInt64 = 0x9e3779b97f4a7c15
        for i in stride(from: 0, to: bytes.count, by: 8) { x = x &* 6364136223846793005 &+ 1; withUnsafeBytes(of: x) { for k in 0..<8 { bytes[i + k] = $0[k] } } }
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let r = try CLI.run(["transfer", "--from", "file:" + file.path, "--to", "host", "--size", "64M", "--via", "odirect", "--json"])
        let d = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(r.status == 0 && d["ok"] as? Bool == true && d["bytes"] as? Int == 67_108_864 && d["verified"] as? Bool == true)
        let pins = try #require(d["pins"] as? [String: Any])
        #expect(pins["exact"] as? Bool == false && Self.pinsAtLeast(pins, 16384), "without --allow-write the counts are approximate: \(pins)")
        let missing = try CLI.run(["transfer", "--from", "file:/nonexistent", "--to", "host", "--size", "4M", "--json"])
        #expect(missing.status == 1 && missing.stdout.contains("cannot open with O_DIRECT"))
        let noP2P = try CLI.run(["transfer", "--from", "file:" + file.path, "--to", "p2pmem:00:00.0", "--size", "4M", "--json"])
        #expect(noP2P.status != 0)
    }

    /// With --allow-write, as root, vm/stat_refresh folds the per-CPU batches first: the
    /// counts are exact (at least one pin per 4 KiB page, no bound); without it they are not.
    @Test(.enabled(if: pinsCounted && getuid() == 0, "exact pin counts need root (vm/stat_refresh) and nr_foll_pin_* counters"), .needsODirect)
    func allowWriteMakesThePinCountsExact() throws {
        let file = URL(fileURLWithPath: TestMachine.buildDirectory).appendingPathComponent("odirect-exact-\(UUID().uuidString.prefix(8)).bin")
        try Data((0..<(16 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 >> 3) }).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let exact = try CLI.run(["transfer", "--from", "file:" + file.path, "--to", "host", "--size", "16M", "--allow-write", "--json"])
        let pins = try #require((try JSONSerialization.jsonObject(with: Data(exact.stdout.utf8)) as? [String: Any])?["pins"] as? [String: Any], "\(exact.stdout)")
        #expect(exact.status == 0 && pins["exact"] as? Bool == true && pins["bound"] is NSNull && (pins["acquired"] as? Int ?? 0) >= 4096, "\(pins)")
        let text = try CLI.run(["transfer", "--from", "file:" + file.path, "--to", "host", "--size", "16M"], env: ["COLUMNS": "400"])
        #expect(text.status == 0 && text.stdout.contains("≈") && text.stdout.contains("--allow-write as root makes them exact"), "\(text.stdout)")
    }

    /// As an unprivileged user (root drops to nobody with setpriv): the kernel refuses the
    /// vm/stat_refresh write that --allow-write asks for, so the counts stay approximate and say
    /// so — `exact: false`, a bound, "≈" in the text — and none of them is negative.
    /// Whether nobody can reach the build folder and run the binary: every folder above them
    /// searchable by others (a clone under a 0700 mktemp folder is not).
    static let nobodyReachesTheBuild: Bool = {
        var path = ""
        for part in TestMachine.buildDirectory.split(separator: "/") {
            path += "/" + part
            var st = stat()
            guard stat(path, &st) == 0, st.st_mode & S_IXOTH != 0 else { return false }
        }
        var st = stat()
        return stat(CLI.binary.path, &st) == 0 && st.st_mode & S_IXOTH != 0
    }()

    @Test(.enabled(if: pinsCounted && getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                   "needs root to drop to nobody (setpriv) and nr_foll_pin_* counters"),
          .enabled(if: nobodyReachesTheBuild, "nobody cannot reach the build folder (a folder above it is not searchable by others)"),
          .needsODirect)
    func anUnprivilegedUsersPinCountsSayTheyAreApproximate() throws {
        let file = URL(fileURLWithPath: TestMachine.buildDirectory).appendingPathComponent("odirect-nobody-\(UUID().uuidString.prefix(8)).bin")
        try Data((0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13 >> 2) }).write(to: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        defer { try? FileManager.default.removeItem(at: file) }
        let nobody = "/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups -- '\(CLI.binary.path)'"
        let json = try CLI.run(["-c", "\(nobody) transfer --from file:'\(file.path)' --to host --size 8M --allow-write --json"], shell: true)
        let d = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout) \(json.stderr)")
        let pins = try #require(d["pins"] as? [String: Any])
        #expect(json.status == 0 && d["verified"] as? Bool == true, "\(json.stderr)")
        #expect(pins["exact"] as? Bool == false && (pins["bound"] as? Int ?? 0) > 0, "the refresh was refused: \(pins)")
        for key in ["acquired", "released", "outstanding_after"] { #expect((pins[key] as? Int ?? -1) >= 0, "\(key): \(pins)") }
        #expect(Self.pinsAtLeast(pins, 2048), "8 MiB is 2048 pages, give or take the bound: \(pins)")
        let text = try CLI.run(["-c", "COLUMNS=400 \(nobody) transfer --from file:'\(file.path)' --to host --size 8M"], shell: true)
        #expect(text.status == 0 && text.stdout.contains("≈") && text.stdout.contains("pages of per-CPU batches"), "\(text.stdout)")
    }

    /// Host memory → a new file with O_DIRECT (pins as for a read), read back byte for byte;
    /// an existing file is refused and left as it was; block devices are never written.
    @Test(.enabled(if: pinsCounted, "this kernel has no nr_foll_pin_* counters"), .needsODirect)
    func hostMemoryToANewFile() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("odirect-write-\(UUID().uuidString.prefix(8)).bin")
        defer { try? FileManager.default.removeItem(at: file) }
        let r = try CLI.run(["transfer", "--from", "host", "--to", "file:" + file.path, "--size", "16M", "--block", "3M", "--json"])
        let d = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(r.status == 0 && d["ok"] as? Bool == true && d["bytes"] as? Int == 16 << 20 && d["verified"] as? Bool == true, "\(r.stdout)")
        #expect(Self.pinsAtLeast(d["pins"] as? [String: Any], 4096), "\(d["pins"] ?? "")")
        let written = try Data(contentsOf: file)
        #expect(written.count == 16 << 20 && written.prefix(4096).contains { $0 != 0 })
        let again = try CLI.run(["transfer", "--from", "host", "--to", "file:" + file.path, "--size", "4M"])
        #expect(again.status == 2 && again.stderr.contains("the file exists"))
        #expect(try Data(contentsOf: file) == written, "nothing overwritten")
        let block = try CLI.run(["transfer", "--from", "host", "--to", "block:/dev/null", "--size", "4M"])
        #expect(block.status == 2 && block.stderr.contains("never writes to a block device"))
        // The same file read back through io_uring, plain and with the buffer registered (one
        // long-term pin per page at registration instead of one per I/O), in blocks that leave
        // a short last one; every byte verified.
        for queue in ["io_uring", "io_uring-fixed"] {
            let u = try CLI.run(["transfer", "--from", "file:" + file.path, "--to", "host", "--size", "16M", "--block", "3M", "--queue", queue, "--json"])
            let ud = try #require(try JSONSerialization.jsonObject(with: Data(u.stdout.utf8)) as? [String: Any])
            if let e = ud["error"] as? [String: Any], (e["message"] as? String ?? "").contains("io_uring disabled here") { continue }
            #expect(u.status == 0 && ud["verified"] as? Bool == true && ud["queue"] as? String == queue, "\(queue): \(u.stdout)")
            let pins = try #require(ud["pins"] as? [String: Any])
            // vmstat is system-wide and other tests run beside this one: at least one pin per page.
            #expect(Self.pinsAtLeast(pins, 4096) && Self.pinsAtLeast(pins, 4096, key: "released"), "\(queue): \(pins)")
        }
        let bad = try CLI.run(["transfer", "--from", "file:" + file.path, "--to", "host", "--queue", "aio"])
        #expect(bad.status == 2 && bad.stderr.contains("expected threads, io_uring or io_uring-fixed"))
    }
}

/// RDMA through libibverbs on this machine, and a captured sys/class/infiniband.
@Suite struct RDMACommandTests {
    static var hasRDMA: Bool { FileManager.default.fileExists(atPath: "/sys/class/infiniband") }

    @Test func liveListIsAContractEvenWithoutDevices() throws {
        let r = try CLI.run(["rdma", "--json"])
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
        let d = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(d["schema"] as? String == "p2ptop.rdma/1" && d["source"] as? String == "verbs")
        let devices = try #require(d["devices"] as? [Any])
        #expect((d["available"] as? Bool) == !devices.isEmpty)
        if !Self.hasRDMA {
            #expect(devices.isEmpty && (d["reason"] as? String ?? "").hasPrefix("ibv_get_device_list"))
            let text = try CLI.run(["rdma"], env: ["NO_COLOR": "1"])
            #expect(text.status == 0 && text.stdout.hasPrefix("no RDMA devices (ibv_get_device_list"))
            // A real RDMA write here: refused with the reason, exit 1, nothing else touched.
            let w = try CLI.run(["transfer", "--from", "rdma", "--to", "host", "--via", "rdma", "--size", "1M", "--json"])
            let wd = try #require(try JSONSerialization.jsonObject(with: Data(w.stdout.utf8)) as? [String: Any])
            #expect(w.status == 1 && wd["ok"] as? Bool == false)
            #expect(((wd["error"] as? [String: Any])?["errno"] as? String) == "ENODEV")
        }
    }

    @Test func capturedSysfsTree() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-e2e-rdma-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let port = root + "/sys/class/infiniband/irdma0/ports/1"
        try FileManager.default.createDirectory(atPath: port + "/counters", withIntermediateDirectories: true)
        for (name, text) in [("state", "4: ACTIVE"), ("phys_state", "5: LinkUp"), ("rate", "25 Gb/sec (1X EDR)"), ("link_layer", "Ethernet"),
                             ("lid", "0x0"), ("counters/port_xmit_data", "256"), ("counters/port_rcv_data", "512")] {
            try (text + "\n").write(toFile: port + "/" + name, atomically: false, encoding: .utf8)
        }
        try "1: CA\n".write(toFile: root + "/sys/class/infiniband/irdma0/node_type", atomically: false, encoding: .utf8)
        let r = try CLI.run(["rdma", "--sysfs-root", root, "--json"])
        #expect(r.status == 0)
        let d = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let dev = try #require((d["devices"] as? [[String: Any]])?.first)
        let p = try #require((dev["ports"] as? [[String: Any]])?.first)
        #expect(dev["name"] as? String == "irdma0" && dev["pci"] is NSNull)
        #expect(p["state"] as? String == "ACTIVE" && p["rate_bits_per_s"] as? Double == 25e9 && p["link_layer"] as? String == "Ethernet")
        #expect(p["xmit_bytes"] as? Int == 1024 && p["rcv_bytes"] as? Int == 2048)
        let text = try CLI.run(["rdma", "--sysfs-root", root], env: ["NO_COLOR": "1"])
        #expect(text.stdout.contains("port 1  ACTIVE  LinkUp  25 Gb/sec (1X EDR)  Ethernet  tx 1K  rx 2K"), "\(text.stdout)")
    }
}

/// A real read of a source that is one byte value throughout is verified only trivially, and
/// says so; a varied source is verified for real. The destination starts unlike the source.
@Suite struct TrivialVerificationTests {
    @Test(.enabled(if: RealODirectTests.pinsCounted, "this kernel has no nr_foll_pin_* counters"), .needsODirect)
    func aUniformSourceIsVerifiedTrivially() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, data) in [("zeros", Data(count: 4 << 20)), ("varied", Data((0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }))] {
            let file = dir.appendingPathComponent("trivial-\(name)-\(UUID().uuidString.prefix(8)).bin")
            try data.write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let r = try CLI.run(["transfer", "--from", "file:" + file.path, "--to", "host", "--size", "4M", "--json"])
            let d = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            #expect(d["verified"] as? Bool == true && d["verified_trivially"] as? Bool == (name == "zeros"), "\(name): \(r.stdout)")
        }
    }
}
