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

    /// What each regression input must give: the bad ones are refused with a typed error (no
    /// value, no trap), the good ones accepted. Every file in the corpus is listed here, so a
    /// new finding comes with the outcome it must have.
    static let expected: [String: Bool] = [
        "config/dev0.bin": true, "config/dev1.bin": true, "config/dev2.bin": true,     // raw config space always decodes
        "config/dev3.bin": true, "config/dev4.bin": true, "config/dev5.bin": true,
        "dump/truncated.dump": false,
        "gzip/config.gz": true, "gzip/truncated.gz": false,                          // its trailer (CRC32, size) is cut off
        "hwloc/bridge-brackets-reversed.xml": false, "hwloc/deep-nesting.xml": false, "hwloc/duplicate-busid.xml": true,
        "nccl/absurd-link-speed.xml": false, "nccl/small.xml": true,                   // its nvlink count of -4 is out of range
        "scenario/bad-kernel.txt": false, "scenario/crlf.txt": true, "scenario/offset-huge.txt": false,
        "scenario/offset-negative.txt": false, "scenario/pages-huge.txt": false, "scenario/pages-negative.txt": false,
        "scenario/size-overflow.txt": false, "scenario/story.txt": true,
        "snapshot/deep.json": false, "snapshot/duplicate-aer-counter.json": true,     // the first value is kept
        "recording/cross-socket.json": true, "recording/escapes.json": true,            // shown, its escapes made visible
        "recording/step-huge.json": false,
        "theme/crlf.toml": true, "theme/empty.toml": false,                             // an empty theme is a mistake, said so
    ]

    @Test func regressionCasesAreRefusedAndGoodOnesAccepted() throws {
        var listed: Set<String> = []
        for target in FuzzTargets.names {
            for path in Self.files(Self.corpus + "/" + target) {
                let key = target + "/" + URL(fileURLWithPath: path).lastPathComponent
                listed.insert(key)
                let want = try #require(Self.expected[key], "\(key) has no expected outcome in FuzzReplayTests.expected")
                let got = FuzzTargets.run(target, Array(try Data(contentsOf: URL(fileURLWithPath: path))))
                #expect(got == want, "\(key): \(got ? "accepted" : "refused"), expected \(want ? "accepted" : "refused")")
            }
        }
        #expect(listed == Set(Self.expected.keys), "listed but absent: \(Set(Self.expected.keys).subtracting(listed).sorted())")
        // Made here, not stored: 5 000 nested brackets are refused by the depth limit.
        #expect(!FuzzTargets.run("snapshot", Array(repeating: UInt8(ascii: "["), count: 5000)))
    }
}
