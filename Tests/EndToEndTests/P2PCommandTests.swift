import Foundation
import Testing

/// matrix, path and doctor through the binary: contracts and 80-column text.
@Suite(.needsFixtures)
struct P2PCommandTests {
    var laptop: String { CLI.fixtures! + "/lspci/ml-alderlake-laptop-rtx3070ti-gl9755.dump" }

    @Test func matrixJSONContract() throws {
        let r = try CLI.run(["matrix", "--json", "--all", "--dump", laptop, "--kernel", "6.8", "--cpu", "intel:6"])
        #expect(r.status == 0)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(doc["schema"] as? String == "p2ptop.matrix/1" && doc["kernel"] as? String == "6.8" && doc["cpu"] as? String == "intel:0x6")
        let pairs = try #require(doc["pairs"] as? [[String: Any]])
        // Endpoints: header type 0 and not class 06xx, as list --json reports them.
        let list = try CLI.run(["list", "--json", "--no-names", "--dump", laptop])
        let devices = try #require((try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any])?["devices"] as? [[String: Any]])
        let endpoints = devices.filter { $0["header_type"] as? Int == 0 && !(($0["class"] as? String) ?? "").hasPrefix("06") }.count
        #expect(endpoints == 20)
        #expect(pairs.count == endpoints * (endpoints - 1))
        for p in pairs {
            for key in ["provider", "client", "map_type", "distance", "acs_redirect", "common_upstream", "path_class", "reason"] {
                #expect(p[key] != nil, "missing \(key)")
            }
        }
        let nvme = try #require(pairs.first { $0["provider"] as? String == "0000:02:00.0" && $0["client"] as? String == "0000:03:00.0" })
        #expect(nvme["map_type"] as? String == "NOT_SUPPORTED" && nvme["distance"] as? Int == 4 && nvme["common_upstream"] as? Bool == false)
    }

    @Test func textFitsEightyColumns() throws {
        for args in [["matrix", "--kind", "gpu,nvme,nic"], ["path", "nvme0", "nvme1"], ["doctor", "gpu0", "nvme0"]] {
            let r = try CLI.run(args + ["--dump", laptop, "--color", "never"], env: ["COLUMNS": "80"])
            #expect(r.status == 0, "\(args)")
            let lines = r.stdout.split(separator: "\n")
            #expect(lines.allSatisfy { $0.count <= 80 }, "\(args): \(lines.filter { $0.count > 80 })")
            #expect(!r.stdout.contains("\u{1b}["))
        }
    }

    @Test func pathAndDoctorJSON() throws {
        let path = try CLI.run(["path", "gpu0", "nvme0", "--json", "--dump", laptop])
        let p = try #require(try JSONSerialization.jsonObject(with: Data(path.stdout.utf8)) as? [String: Any])
        #expect(p["schema"] as? String == "p2ptop.path/1")
        let hops = try #require(p["hops"] as? [[String: Any]])
        #expect(hops.first?["bdf"] as? String == "0000:01:00.0" && hops.last?["bdf"] as? String == "0000:02:00.0")
        #expect((p["bottleneck"] as? [String: Any])?["link"] as? String == "16GT/s x4")
        let doctor = try CLI.run(["doctor", "--json", "--dump", laptop])
        let d = try #require(try JSONSerialization.jsonObject(with: Data(doctor.stdout.utf8)) as? [String: Any])
        #expect(d["schema"] as? String == "p2ptop.doctor/1")
        let codes = (d["findings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
        #expect(codes.contains("acs-redirect") && codes.contains("host-bridge-not-allowlisted"))
        #expect(d["host"] is NSNull, "a dump records no host facts")
    }

    /// An hwloc XML through the commands: the tree, and `show` saying what hwloc does not keep.
    @Test func hwlocSource() throws {
        let xml = CLI.fixtures! + "/hwloc/flux-sched-corona11.xml"
        let tree = try CLI.run(["tree", "--hwloc", xml, "--plain"])
        #expect(tree.status == 0 && tree.stdout.hasPrefix("-+-[0000:"))
        let show = try CLI.run(["show", "--hwloc", xml, "nvme0"], env: ["NO_COLOR": "1"])
        #expect(show.status == 0 && show.stdout.contains("os devices    nvme0n1 (block)") && show.stdout.contains("unknown (not in hwloc's XML: no BARs kept)"))
        let m = try CLI.run(["matrix", "--hwloc", xml, "--kind", "gpu", "--json"])
        #expect(m.status == 0 && m.stdout.contains("\"SYS\""), "MI25s on different dies")
    }

    @Test func badKernelAndCPUAreUsageErrors() throws {
        for args in [["matrix", "--kernel", "banana"], ["matrix", "--cpu", "amd"], ["path", "gpu1"], ["matrix", "--kind", "toaster"]] {
            let r = try CLI.run(args + ["--dump", laptop])
            #expect(r.status == 2, "\(args) → \(r.status) \(r.stderr)")
            #expect(!r.stderr.isEmpty && r.stdout.isEmpty)
        }
    }
}

/// The doctor on the live machine (no fixtures needed).
@Suite struct LiveDoctorTests {
    /// On the live machine the doctor also reads the kernel and this process: the memlock limit
    /// it reports is the one the kernel enforces on p2ptop itself.
    @Test func liveDoctorReadsTheHost() throws {
        let r = try CLI.run(["doctor", "--json"])
        #expect(r.status == 0)
        let d = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let host = try #require(d["host"] as? [String: Any])
        #expect(["enabled", "disabled", "unknown"].contains(host["p2pdma_config"] as? String ?? ""))
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(8), &limit)   // RLIMIT_MEMLOCK (a macro Swift does not import)
        if limit.rlim_cur != rlim_t.max { #expect(host["memlock_soft_bytes"] as? Int == Int(limit.rlim_cur)) }
        let codes = (d["findings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
        if let config = try? String(contentsOfFile: "/boot/config-" + (try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines), encoding: .utf8) {
            #expect(codes.contains("p2pdma-config-off") == config.contains("# CONFIG_PCI_P2PDMA is not set"))
        }
    }
}
