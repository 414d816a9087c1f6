import Foundation
import Testing

/// `list --plain` is `lspci -nn`, byte for byte: on every fixture dump (names from pci.ids
/// alone and with hwdb), every captured sysfs tree, and this machine against the real lspci.
@Suite struct LspciTextTests {
    static var dumps: [String] { CLI.fixtures.map { SourceCorpus.files($0 + "/lspci", ".dump") } ?? [] }

    @Test(.enabled(if: CLI.fixtures != nil, "../shared/fixtures not found"))
    func listPlainIsLspciNNOnEveryDump() throws {
        #expect(Self.dumps.count >= 30)
        for dump in Self.dumps {
            let base = String(dump.dropLast(5))
            for (flags, reference) in [(["--no-hwdb"], base + ".nn.nohwdb.txt"), ([], base + ".nn.txt")] {
                let expected = try String(contentsOfFile: reference, encoding: .utf8)
                let r = try CLI.run(["list", "--plain", "--dump", dump] + flags)
                #expect(r.status == 0 && r.stdout == expected, "\(reference): differs")
            }
        }
    }

    @Test(.enabled(if: CLI.fixtures != nil, "../shared/fixtures not found"))
    func listPlainIsLspciNNOnEverySysfsTree() throws {
        #expect(SourceCorpus.sysfsRoots.count >= 2)
        for root in SourceCorpus.sysfsRoots {
            // The tarball's name is the root's parent folder's suffix; its lspci output sits beside it.
            let name = try #require(try FileManager.default.contentsOfDirectory(atPath: CLI.fixtures! + "/sysfs")
                .first { $0.hasSuffix(".tar.bz2") && root[1].hasSuffix("/" + String($0.dropFirst(6).dropLast(8))) })
            let expected = try String(contentsOfFile: CLI.fixtures! + "/sysfs/" + name.dropLast(8) + ".sysfs-nn.txt", encoding: .utf8)
            let r = try CLI.run(["list", "--plain"] + root)
            #expect(r.status == 0 && r.stdout == expected, "\(name)")
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/lspci"), "lspci not installed"))
    func listPlainIsLspciNNOnThisMachine() throws {
        let lspci = try CLI.run(["-c", "/usr/bin/lspci -nn"], shell: true)
        let r = try CLI.run(["list", "--plain"])
        #expect(r.status == 0 && !lspci.stdout.isEmpty && r.stdout == lspci.stdout)
        // A filter that matches nothing prints nothing, as lspci does.
        let none = try CLI.run(["list", "--plain", "-d", "ffff:fffe"])
        #expect(none.status == 0 && none.stdout.isEmpty)
    }
}
