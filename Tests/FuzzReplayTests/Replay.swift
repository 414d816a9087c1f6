import Foundation
import Testing
import FuzzTargets

/// Every input in `Tests/FuzzCorpus/TARGET/` — the hostile-input campaign's crashers and the
/// fuzzers' findings — replayed through the same entry the fuzzers use: each must return (a
/// trap would end this test process). The fixtures' real files are replayed too, when present.
@Suite struct FuzzReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("FuzzCorpus").path

    static func files(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted().map { dir + "/" + $0 }
    }

    @Test(arguments: FuzzTargets.names)
    func corpusReplaysWithoutATrap(_ target: String) throws {
        let inputs = Self.files(Self.corpus + "/" + target)
        #expect(!inputs.isEmpty, "no regression inputs for \(target)")
        for path in inputs {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            FuzzTargets.run(target, bytes)
        }
    }

    /// The contract on the campaign's own cases: the bad ones are refused (no value), and the
    /// good story plays.
    @Test func regressionCasesAreRefused() throws {
        #expect(FuzzTargets.names.count == 8)
        let deep = try Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/hwloc/deep-nesting.xml"))
        FuzzTargets.run("hwloc", Array(deep))   // returns: the depth limit refused it
        let flat = Array(repeating: UInt8(ascii: "["), count: 5000)
        FuzzTargets.run("snapshot", flat)
    }
}
