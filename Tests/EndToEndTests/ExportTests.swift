import Foundation
import Testing

/// `export --nccl` → `--nccl`: reading the file back gives the same matrix — path classes,
/// verdicts (the host bridge's IDs, switch ports and ACS redirect ride along in attributes NCCL
/// ignores) and NVLinks — on every demo fabric, every lab snapshot and every hwloc fixture.
@Suite struct ExportTests {
    func pairs(_ args: [String]) throws -> [String: [String: Any]] {
        let r = try CLI.run(["matrix", "--json", "--all"] + args)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
        var out: [String: [String: Any]] = [:]
        for p in doc["pairs"] as? [[String: Any]] ?? [] { out["\(p["provider"]!) \(p["client"]!)"] = p }
        return out
    }

    func roundTrip(_ source: [String], word: Bool = false) throws -> (before: [String: [String: Any]], after: [String: [String: Any]]) {
        let file = CLI.temp("")
        let e = try CLI.run(["export"] + (word ? ["nccl"] : ["--nccl"]) + ["-o", file] + source)
        #expect(e.status == 0, "\(e.stderr)")
        return (try pairs(source), try pairs(["--nccl", file]))
    }

    /// Reads each source's matrix, exports it, reads the file back and compares pair by pair.
    func compareRoundTrips(_ sources: [[String]]) throws -> (compared: Int, redirected: Int) {
        var compared = 0, redirected = 0
        for (i, source) in sources.enumerated() {
            let (before, after) = try roundTrip(source, word: i == 0)
            #expect(before.count == after.count && before.count > 0, "\(source): the same endpoints")
            for (key, p) in before {
                let q = try #require(after[key], "\(source) \(key) after reading back")
                for field in ["path_class", "map_type"] {
                    #expect(p[field] as? String == q[field] as? String, "\(source) \(key) \(field)")
                }
                #expect((p["nvlinks"] as? Int) == (q["nvlinks"] as? Int), "\(source) \(key)")
                if !((p["acs_redirect"] as? [Any])?.isEmpty ?? true) { redirected += 1 }
                compared += 1
            }
        }
        return (compared, redirected)
    }

    /// The demo fabrics and the lab's recorded snapshots (in every clone): 426 pairs today,
    /// 67 of them decided by ACS redirect.
    @Test func theMatrixSurvivesTheRoundTrip() throws {
        let (compared, redirected) = try compareRoundTrips(SourceCorpus.fabrics + SourceCorpus.recordedSnapshots)
        #expect(SourceCorpus.fabrics.count >= 3 && compared > 400 && redirected > 50, "\(compared) pairs, \(redirected) decided by ACS redirect")
    }

    /// An NCCL file is a source too (`--from-nccl`, since `--nccl` names the format): its
    /// export reads back with the same verdicts, and `-o` says what it wrote.
    @Test func anNCCLFileExportsAgain() throws {
        let first = CLI.temp(""), second = CLI.temp("")
        #expect(try CLI.run(["export", "--nccl", "-o", first, "--fabric", "icelake-gpu-switch"]).status == 0)
        let again = try CLI.run(["export", "--nccl", "-o", second, "--from-nccl", first])
        #expect(again.status == 0 && again.stderr.contains("wrote an NCCL topology of") && again.stderr.contains(second), "\(again.stderr)")
        let (a, b) = (try pairs(["--nccl", first]), try pairs(["--nccl", second]))
        #expect(a.count > 20 && a.count == b.count)
        for (key, p) in a { #expect(b[key]?["map_type"] as? String == p["map_type"] as? String, "\(key)") }
    }

    /// Every hwloc fixture: real machines' matrices, some 15 000 pairs.
    @Test(.needsFixtures) func theMatrixOfEveryHwlocFixtureSurvivesTheRoundTrip() throws {
        let sources = SourceCorpus.files(CLI.fixtures! + "/hwloc", ".xml").map { ["--hwloc", $0] }
        let (compared, _) = try compareRoundTrips(sources)
        #expect(sources.count >= 15 && compared > 10_000, "\(sources.count) files, \(compared) pairs")
    }

    @Test(.needsFixtures)
    func nvlinksSurviveTheRoundTrip() throws {
        let (before, after) = try roundTrip(["--hwloc", CLI.fixtures! + "/hwloc/hwloc-power8gpudistances.xml"])
        let nv = before.filter { $0.value["nvlinks"] as? Int != nil }
        #expect(nv.count == 4)
        for (key, p) in nv { #expect(after[key]?["nvlinks"] as? Int == p["nvlinks"] as? Int, "\(key)") }
        let refused = try CLI.run(["export", "hwloc", "--fabric", "workstation"])
        #expect(refused.status == 2 && refused.stderr.contains("expected nccl"))
    }
}
