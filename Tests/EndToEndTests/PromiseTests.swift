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
