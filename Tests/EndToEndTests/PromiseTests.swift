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
