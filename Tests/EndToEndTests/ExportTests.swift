import Foundation
import Testing

/// `export nccl` → `--nccl`: reading the file back gives the same matrix — path classes,
/// NVLinks, and verdicts wherever ACS redirect (which NCCL's format cannot hold) does not decide.
@Suite struct ExportTests {
    func pairs(_ args: [String]) throws -> [String: [String: Any]] {
        let r = try CLI.run(["matrix", "--json"] + args)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
        var out: [String: [String: Any]] = [:]
        for p in doc["pairs"] as? [[String: Any]] ?? [] { out["\(p["provider"]!) \(p["client"]!)"] = p }
        return out
    }

    func roundTrip(_ source: [String]) throws -> (before: [String: [String: Any]], after: [String: [String: Any]]) {
        let file = CLI.temp("")
        let e = try CLI.run(["export", "nccl", "-o", file] + source)
        #expect(e.status == 0, "\(e.stderr)")
        return (try pairs(source), try pairs(["--nccl", file]))
    }

    @Test func everyDemoFabricRoundTrips() throws {
        var compared = 0, verdicts = 0
        for fabric in SourceCorpus.fabrics {
            let (before, after) = try roundTrip(fabric)
            #expect(before.count == after.count && before.count > 0, "\(fabric): the same endpoints")
            for (key, p) in before {
                let q = try #require(after[key], "\(fabric) \(key) after reading back")
                #expect(p["path_class"] as? String == q["path_class"] as? String, "\(fabric) \(key)")
                #expect((p["nvlinks"] as? Int) == (q["nvlinks"] as? Int), "\(fabric) \(key)")
                if (p["acs_redirect"] as? [Any])?.isEmpty == true {
                    #expect(p["map_type"] as? String == q["map_type"] as? String, "\(fabric) \(key)")
                    verdicts += 1
                }
                compared += 1
            }
        }
        #expect(compared >= 90 && verdicts > compared / 2, "\(compared) pairs, \(verdicts) verdicts")
    }

    @Test(.enabled(if: CLI.fixtures != nil, "../shared/fixtures not found"))
    func nvlinksSurviveTheRoundTrip() throws {
        let (before, after) = try roundTrip(["--hwloc", CLI.fixtures! + "/hwloc/hwloc-power8gpudistances.xml"])
        let nv = before.filter { $0.value["nvlinks"] as? Int != nil }
        #expect(nv.count == 4)
        for (key, p) in nv { #expect(after[key]?["nvlinks"] as? Int == p["nvlinks"] as? Int, "\(key)") }
        let refused = try CLI.run(["export", "hwloc", "--fabric", "workstation"])
        #expect(refused.status == 2 && refused.stderr.contains("expected nccl"))
    }
}
