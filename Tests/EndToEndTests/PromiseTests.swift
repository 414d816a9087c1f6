import Foundation
import Testing

/// Commands keep the promises the README makes (issue 11, item 6, in part): a source flag a
/// command cannot use is refused with the reason, not as an unknown option; `bar` refuses a BAR
/// that does not exist, and has nothing to map on a recorded topology.
@Suite struct PromiseTests {
    @Test func watchRefusesRecordedSourcesWithTheReason() throws {
        for flag in ["--fabric", "--dump", "--snapshot", "--hwloc"] {
            let r = try CLI.run(["watch", flag, "x", "--count", "1"])
            #expect(r.status == 2 && r.stderr.contains("\(flag): watch samples live counters") && !r.stderr.contains("Unknown option"), "\(r.stderr)")
        }
    }

    @Test func barOnARecordedSourceHasNothingToMap() throws {
        let r = try CLI.run(["bar", "gpu0", "--fabric", "icelake-gpu-switch", "--json"])
        #expect(r.status == 2 && r.stdout.isEmpty && r.stderr.contains("a recorded topology (--fabric icelake-gpu-switch) has nothing to map"))
    }

    @Test func barRefusesABARThatDoesNotExist() throws {
        let list = try CLI.run(["list", "--json"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any], "\(list.stderr)")
        let first = try #require((doc["devices"] as? [[String: Any]])?.first?["bdf"] as? String)
        let r = try CLI.run(["bar", first, "--bar", "5"])
        #expect(r.status == 2 && (r.stderr.contains("has no BAR 5") || r.stderr.contains("upper half")), "\(r.stderr)")
    }

    /// lspci prints nothing when no function matches; so does `list`.
    @Test func listWithNoMatchPrintsNothing() throws {
        let r = try CLI.run(["list", "--fabric", "icelake-gpu-switch", "-d", "ffff:ffff"])
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "'\(r.stdout)'")
    }
}

/// `transfer` answers with the path's verdict first, and names the method that would work.
@Suite struct TransferAnswerTests {
    func json(_ args: [String]) throws -> (Int32, [String: Any]) {
        let r = try CLI.run(args + ["--json", "--fabric", "icelake-gpu-switch", "--size", "4M"])
        return (r.status, try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]))
    }

    @Test func theVerdictComesBeforeTheMethod() throws {
        // GPU → an NVMe behind VMD: NOT_SUPPORTED (no allowlisted host bridge) before "not an NVMe queue".
        let (status, d) = try json(["transfer", "--from", "gpu0", "--to", "nvme2"])
        let e = try #require(d["error"] as? [String: Any])
        #expect(status == 1 && d["map_type"] as? String == "NOT_SUPPORTED" && e["errno"] as? String == "EREMOTEIO")
        #expect((e["message"] as? String)?.contains("is NOT_SUPPORTED") == true && (e["message"] as? String)?.contains("NVMe queue") == false)
        #expect((d["works_via"] as? [Any])?.isEmpty == true, "no method crosses a NOT_SUPPORTED path")
        // The same request on a BUS_ADDR pair gets the method's own refusal.
        let (_, same) = try json(["transfer", "--from", "gpu0", "--to", "nvme1"])
        #expect(same["map_type"] as? String == "BUS_ADDR" && ((same["error"] as? [String: Any])?["message"] as? String)?.contains("not an NVMe queue") == true)
    }

    @Test func aRefusalNamesTheMethodThatWorks() throws {
        // A GPU BAR registered for RDMA: EFAULT (PFNMAP); the dma-buf route works.
        let (status, d) = try json(["transfer", "--from", "nic0", "--to", "gpu0", "--via", "rdma"])
        #expect(status == 1 && (d["error"] as? [String: Any])?["errno"] as? String == "EFAULT")
        #expect(d["works_via"] as? [String] == ["dmabuf"])
        let text = try CLI.run(["transfer", "--from", "nic0", "--to", "gpu0", "--via", "rdma", "--fabric", "icelake-gpu-switch", "--size", "4M"])
        #expect(text.stdout.contains("instead    --via dmabuf works for this pair"))
        // A transfer that worked suggests nothing.
        let (ok, fine) = try json(["transfer", "--from", "nvme0", "--to", "nvme1"])
        #expect(ok == 0 && fine["works_via"] is NSNull)
    }
}

/// The demo fabrics' BARs agree with each other, in text and JSON.
@Suite struct DemoBARTests {
    @Test func everyBARIsConsistentOnEveryFabric() throws {
        #expect(!SourceCorpus.fabrics.isEmpty)
        for fabric in SourceCorpus.fabrics {
            let r = try CLI.run(["list", "--json"] + fabric)
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            for d in try #require(doc["devices"] as? [[String: Any]]) {
                let bars = d["bars"] as? [[String: Any]] ?? []
                var seen = Set<Int>()
                for b in bars {
                    let index = try #require(b["index"] as? Int)
                    #expect(seen.insert(index).inserted, "\(fabric) \(d["bdf"]!): BAR \(index) twice")
                    if let lower = b["upper_half_of"] as? Int {
                        let owner = bars.first { $0["index"] as? Int == lower }
                        #expect(lower == index - 1 && owner?["is_64bit"] as? Bool == true, "\(fabric) \(d["bdf"]!): BAR \(index) is the upper half of a BAR that is not 64-bit")
                    }
                    // A 64-bit BAR's upper slot is never a BAR of its own.
                    if b["is_64bit"] as? Bool == true, let upper = bars.first(where: { $0["index"] as? Int == index + 1 }) {
                        #expect(upper["upper_half_of"] as? Int == index, "\(fabric) \(d["bdf"]!): BAR \(index + 1) overlaps 64-bit BAR \(index)")
                    }
                    if let a = b["address"] as? String, b["is_64bit"] as? Bool == false {
                        #expect((UInt64(a.dropFirst(2), radix: 16) ?? .max) < 1 << 32, "\(fabric) \(d["bdf"]!): 32-bit BAR \(index) above 4 GiB")
                    }
                }
            }
        }
        // The A100: BAR 0 16M 32-bit, BAR 1 64G and BAR 3 32M 64-bit prefetchable, in text too.
        let show = try CLI.run(["show", "gpu0", "--fabric", "icelake-gpu-switch"], env: ["COLUMNS": "120"])
        #expect(show.stdout.contains("0  mem 0x90000000  size 16M  32-bit non-prefetchable"))
        #expect(show.stdout.contains("1  mem 0x200000000000  size 64G  64-bit prefetchable"))
        #expect(!show.stdout.contains("upper 32 bits"))
    }
}

/// `path` keeps its columns whatever the port type's length; `provider` keeps a PCI domain
/// that is not 0000.
@Suite struct ColumnTests {
    @Test func pathColumnsAlignAndDomainsAreKept() throws {
        let r = try CLI.run(["path", "gpu0", "nvme2", "--fabric", "icelake-gpu-switch"], env: ["COLUMNS": "100"])
        let hops = r.stdout.split(separator: "\n").filter { $0.hasPrefix("  ● ") || $0.hasPrefix("  ○ ") }
        #expect(hops.count == 6 && hops.contains { $0.contains("switch downstream port") })
        // The third column (link or ACS) starts at the same place on every hop that has one.
        let starts = Set(hops.compactMap { line -> Int? in
            let s = String(line)
            for marker in ["GT/s", "ACSCtl"] {
                if let r = s.range(of: marker) {
                    let before = s[..<r.lowerBound]
                    return marker == "ACSCtl" ? before.count : before.lastIndex(of: " ").map { before.distance(from: before.startIndex, to: $0) + 1 }
                }
            }
            return nil
        })
        #expect(starts.count == 1, "\(hops)")
        #expect(r.stdout.contains("nvme2 10000:01:00.0"))
        let p = try CLI.run(["provider", "nvme2", "--fabric", "icelake-gpu-switch"])
        #expect(p.stdout.contains("nvme2 (10000:01:00.0)") && !p.stdout.contains("nvme2 (01:00.0)"))
    }
}

/// Every command that reads a machine takes every source flag; the others are not asked to.
@Suite struct SourceFlagTests {
    static func takesSource(_ source: [String]) throws {
        for command in [["tree"], ["list"], ["matrix"], ["doctor"], ["snapshot"], ["show", "00:00.0"], ["scenario", "run", "seed-story"]] {
            let r = try CLI.run(command + source)
            #expect(!r.stderr.contains("Unknown option") && r.status != 64, "\(command) \(source): \(r.stderr)")
        }
    }

    @Test func machineReadingCommandsTakeEverySource() throws {
        let snapshot = SourceCorpus.repo.appendingPathComponent("Tests/LabTests/Recorded/intel/snapshot.json").path
        for source in [["--fabric", "icelake-gpu-switch"], ["--snapshot", snapshot]] { try Self.takesSource(source) }
    }

    @Test(.needsFixtures) func machineReadingCommandsTakeADumpAndAScenarioChecksItsDevices() throws {
        let fixtures = try #require(CLI.fixtures)
        let dump = fixtures + "/lspci/ml-alderlake-laptop-rtx3070ti-gl9755.dump"
        try Self.takesSource(["--dump", dump])
        // A scenario on a machine without the script's devices names the line and the device.
        let r = try CLI.run(["scenario", "run", "seed-story", "--dump", fixtures + "/lspci/live-vm.dump"])
        #expect(r.status == 2 && r.stderr.contains("seed-story:6:") && r.stderr.contains("no device 'nvme1'"), "\(r.stderr)")
        // On a machine that has the devices but not their fabric, the steps run and differ: exit 1.
        let other = try CLI.run(["scenario", "run", "seed-story", "--dump", dump])
        #expect(other.status == 1 && other.stdout.contains("not as expected"))
    }
}

/// A modelled transfer's rate is the fabric model's, the same on every run and every machine.
@Suite struct ModelRateTests {
    @Test func fiveRunsReportTheModelsRate() throws {
        var rates: [Double] = []
        for _ in 0..<5 {
            let r = try CLI.run(["transfer", "--fabric", "icelake-gpu-switch", "--from", "nvme0", "--to", "nvme1", "--size", "1G", "--json"])
            let d = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            let model = try #require((d["bottleneck"] as? [String: Any])?["bytes_per_s"] as? Double)
            let rate = try #require(d["bytes_per_s"] as? Double)
            #expect(d["rate_source"] as? String == "model" && d["verified"] as? Bool == true)
            #expect(abs(rate - model) / model < 0.05, "\(rate) vs the model's \(model)")
            rates.append(rate)
        }
        #expect(Set(rates).count == 1, "\(rates)")
        // Another fabric, twice: the same value both times.
        let other = try (0..<2).map { _ in
            try CLI.run(["transfer", "--fabric", "epyc-mi25", "--from", "nic0", "--to", "gpu0", "--via", "dmabuf", "--size", "64M", "--json"]).stdout
        }.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(other.allSatisfy { $0["ok"] as? Bool == true && $0["rate_source"] as? String == "model" })
        #expect((other[0]["bytes_per_s"] as? Double ?? 0) > 0 && other[0]["bytes_per_s"] as? Double == other[1]["bytes_per_s"] as? Double)
    }
}

/// `demo --list` names every bundled story, one line each, within 80 columns, without a terminal.
@Suite struct DemoListTests {
    @Test func everyStoryOnOneLine() throws {
        let r = try CLI.run(["demo", "--list"], env: ["COLUMNS": "80"])
        let lines = r.stdout.split(separator: "\n")
        let scenarios = try CLI.run(["scenario", "list", "--json"])
        let names = ((try JSONSerialization.jsonObject(with: Data(scenarios.stdout.utf8)) as? [String: Any])?["scenarios"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        // The bundled scenarios, then the lab story (it boots the kernel lab).
        #expect(r.status == 0 && names.count >= 3 && lines.count == names.count + 1)
        for (line, name) in zip(lines, names + ["lab-story"]) { #expect(line.hasPrefix(name + " ") && line.count <= 80 && line.count > name.count + 10) }
    }
}
