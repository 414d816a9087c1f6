import Foundation
import Testing

/// The running kernel decides: on every source that knows its host (the live machine, captured
/// roots, snapshots), `doctor` and `matrix` give one answer pair for pair; a kernel built
/// without CONFIG_PCI_P2PDMA refuses every pair in both, and says so.
@Suite struct RunningKernelTests {
    func json(_ args: [String]) throws -> [String: Any] {
        let r = try CLI.run(args + ["--json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(args): \(r.stderr)")
    }

    /// A recorded snapshot whose kernel config says `# CONFIG_PCI_P2PDMA is not set`.
    func snapshotWithoutP2PDMA() throws -> String {
        let recorded = SourceCorpus.repo.appendingPathComponent("Tests/LabTests/Recorded/intel/snapshot.json")
        var doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: recorded)) as? [String: Any])
        var host = try #require(doc["host"] as? [String: Any])
        var facts = try #require(host["facts"] as? [String: Any])
        facts["p2pdma_config"] = "disabled"
        facts["p2pdma_evidence"] = "/boot/config-6.12.95"
        host["facts"] = facts
        doc["host"] = host
        let path = NSTemporaryDirectory() + "p2ptop-no-p2pdma-\(getpid()).json"
        try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Every ordered pair of the matrix against doctor's finding and its pair verdict.
    func check(_ source: [String]) throws -> (pairs: Int, off: Bool) {
        let doctor = try json(["doctor"] + source)
        guard doctor["host"] is [String: Any] else { return (0, false) }
        let off = ((doctor["findings"] as? [[String: Any]]) ?? []).contains { $0["code"] as? String == "p2pdma-config-off" }
        let matrix = try json(["matrix"] + source)
        let pairs = try #require(matrix["pairs"] as? [[String: Any]], "\(source)")
        for p in pairs where off { #expect(p["map_type"] as? String == "NOT_SUPPORTED", "\(source): \(p["provider"] ?? "") → \(p["client"] ?? "") is \(p["map_type"] ?? "")") }
        // The pair doctor and path are asked about says the same as the matrix.
        for p in pairs.prefix(6) {
            let a = try #require(p["provider"] as? String), b = try #require(p["client"] as? String)
            let pair = try #require(try json(["doctor", a, b] + source)["pair"] as? [String: Any])
            #expect(pair["map_type"] as? String == p["map_type"] as? String && pair["reason"] as? String == p["reason"] as? String, "\(source) \(a) → \(b)")
        }
        return (pairs.count, off)
    }

    @Test func doctorAndMatrixAgreeOnEverySourceThatKnowsItsHost() throws {
        let off = try snapshotWithoutP2PDMA()
        defer { unlink(off) }
        var withHost = 0, refusedAll = 0
        for source in SourceCorpus.all + [["--snapshot", off]] {
            let r = try check(source)
            if r.pairs > 0 { withHost += 1 }
            if r.off { refusedAll += 1 }
        }
        #expect(withHost >= SourceCorpus.recordedSnapshots.count + 1 && refusedAll >= 1, "\(withHost) sources with host facts, \(refusedAll) without P2PDMA")
        // The snapshot without P2PDMA: refused with the kernel's reason, what a P2PDMA kernel would say beside it.
        let m = try json(["matrix", "--snapshot", off])
        let first = try #require((m["pairs"] as? [[String: Any]])?.first)
        #expect((first["reason"] as? String)?.hasPrefix("this kernel is built without CONFIG_PCI_P2PDMA (/boot/config-6.12.95): every pair is refused (a kernel with it would say ") == true)
        // Asking about another kernel is a question about that kernel: its rules, not this config.
        let other = try json(["matrix", "--snapshot", off, "--kernel", "6.12"])
        #expect((other["pairs"] as? [[String: Any]])?.contains { $0["map_type"] as? String != "NOT_SUPPORTED" } == true)
        let text = try CLI.run(["matrix", "--snapshot", off], env: ["COLUMNS": "200"])
        #expect(text.stdout.contains("This kernel is built without CONFIG_PCI_P2PDMA (/boot/config-6.12.95): every pair is refused."))
    }
}

/// `diff` names the host facts that changed and groups the verdict changes under the cause
/// that explains them (the same pair on b's machine under a's rules keeps a's verdict).
@Suite struct DiffCauseTests {
    func json(_ args: [String]) throws -> [String: Any] {
        let r = try CLI.run(args + ["--json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(args): \(r.stderr)")
    }

    @Test func aCPUChangeIsNamedAndExplainsItsVerdicts() throws {
        let recorded = SourceCorpus.repo.appendingPathComponent("Tests/LabTests/Recorded").path
        let a = recorded + "/intel/snapshot.json", b = recorded + "/amd/snapshot.json"
        let d = try json(["diff", a, b])
        let changes = try #require(d["changes"] as? [[String: Any]])
        let verdicts = changes.filter { $0["field"] as? String == "verdict" }
        #expect(!verdicts.isEmpty && verdicts.allSatisfy { ($0["cause"] as? String)?.hasPrefix("the CPU (intel:0x6 → amd:0x17)") == true }, "\(verdicts.prefix(2))")
        #expect(changes.contains { $0["field"] as? String == "host" && $0["text"] as? String == "CPU intel:0x6 → amd:0x17" })
        #expect(changes.filter { $0["field"] as? String != "verdict" }.allSatisfy { $0["cause"] is NSNull })
        let text = try CLI.run(["diff", a, b], env: ["COLUMNS": "400"])
        #expect(text.status == 1 && text.stdout.contains("\(verdicts.count) verdicts changed by the CPU (intel:0x6 → amd:0x17):") && text.stderr.isEmpty, "\(text.stderr)")
        // The same machine against itself: equal, nothing on stderr.
        let same = try CLI.run(["diff", a, a])
        #expect(same.status == 0 && same.stdout.contains("equal") && same.stderr.isEmpty)
    }
}
