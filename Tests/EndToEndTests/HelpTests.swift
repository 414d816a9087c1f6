import Foundation
import Testing

/// The conventions people reach for: every command's help has an example, option defaults
/// are said once, and the man page and the bash/zsh/fish completions generated from the
/// command definitions work in the real man, bash, zsh and fish.
@Suite struct HelpTests {
    static func has(_ tool: String) -> Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/" + tool) }

    /// Every displayed command of `--experimental-dump-help`, by path.
    static func commands() throws -> [(String, [String: Any])] {
        let r = try CLI.run(["--experimental-dump-help"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        var out: [(String, [String: Any])] = []
        func walk(_ c: [String: Any], _ path: [String]) {
            let name = c["commandName"] as? String ?? "?"
            guard c["shouldDisplay"] as? Bool ?? true, name != "help" else { return }
            out.append(((path + [name]).joined(separator: " "), c))
            for s in c["subcommands"] as? [[String: Any]] ?? [] { walk(s, path + [name]) }
        }
        walk(try #require(doc["command"] as? [String: Any]), [])
        return out
    }

    @Test func everyHelpHasAnExampleAndSaysEachDefaultOnce() throws {
        let all = try Self.commands()
        #expect(all.count >= 30, "\(all.map(\.0))")
        for (path, c) in all {
            #expect((c["discussion"] as? String ?? "").contains("Examples:\n  p2ptop"), "\(path): no example")
            for a in c["arguments"] as? [[String: Any]] ?? [] where a["defaultValue"] != nil {
                let text = a["abstract"] as? String ?? ""
                #expect(!text.contains("(default") && !text.contains("default)"), "\(path): '\(text)' says its default as well")
            }
        }
        // The help a user reads shows them.
        let help = try CLI.run(["transfer", "--help"])
        #expect(help.stdout.contains("Examples:") && help.stdout.contains("p2ptop transfer --fabric icelake-gpu-switch"))
    }

    @Test(.enabled(if: HelpTests.has("groff"), "groff not installed"))
    func theManPageIsCleanAndComplete() throws {
        let man = try CLI.run(["install", "--print", "man"])
        #expect(man.status == 0 && man.stdout.hasPrefix(".TH P2PTOP 1 "))
        for (path, _) in try Self.commands() where path != "p2ptop" {
            #expect(man.stdout.contains(".SS \"\(path.replacingOccurrences(of: "-", with: "\\-"))\""), "\(path) missing from the man page")
        }
        let file = CLI.temp(man.stdout)
        let lint = try CLI.run(["-c", "groff -man -Tutf8 -ww -z \(file) 2>&1"], shell: true)
        #expect(lint.status == 0 && lint.stdout.isEmpty, "groff: \(lint.stdout)")
        let text = try CLI.run(["-c", "groff -man -Tutf8 \(file) 2>/dev/null | col -b"], shell: true)
        #expect(text.stdout.contains("p2ptop transfer --fabric icelake-gpu-switch --from nvme0 --to nvme1 --size 1G"))
        #expect(text.stdout.contains("EXIT STATUS") && text.stdout.contains("--sysfs-root dir"))
    }

    @Test func installWritesTheBinaryCompletionsAndManPage() throws {
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-install-\(UUID().uuidString)").path
        let r = try CLI.run(["install", "--prefix", prefix])
        #expect(r.status == 0, "\(r.stderr)")
        for rel in ["bin/p2ptop", "share/bash-completion/completions/p2ptop", "share/zsh/site-functions/_p2ptop",
                    "share/fish/vendor_completions.d/p2ptop.fish", "share/man/man1/p2ptop.1"] {
            #expect(FileManager.default.fileExists(atPath: prefix + "/" + rel), "\(rel) not installed")
        }
        let v = try CLI.run(["-c", "\(prefix)/bin/p2ptop --version"], shell: true)
        #expect(v.status == 0 && !v.stdout.isEmpty)

        // bash: the function completes subcommands and options.
        let bash = prefix + "/share/bash-completion/completions/p2ptop"
        func complete(_ words: [String]) throws -> [String] {
            let line = words.joined(separator: " ")
            let script = "PATH=\(prefix)/bin:$PATH; source \(bash); COMP_LINE='\(line)'; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(\(line)); COMP_CWORD=\(words.count - 1); "
                + "_p2ptop p2ptop '\(words.last!)' '\(words[words.count - 2])'; printf '%s\\n' \"${COMPREPLY[@]}\""
            return try CLI.run(["-c", "bash -c \"$0\"", script], shell: true).stdout.split(separator: "\n").map(String.init)
        }
        #expect(try complete(["p2ptop", "tr"]) == ["tree", "transfer"])
        #expect(try complete(["p2ptop", "list", "--pl"]) == ["--plain"])
        // Beyond commands and options: fabric names, files, and the current source's devices.
        #expect(try complete(["p2ptop", "tree", "--fabric", "sap"]) == ["sapphire-h100"])
        #expect(try complete(["p2ptop", "show", "--fabric", "icelake-gpu-switch", "gp"]) == ["gpu0", "gpu1"])
        #expect(try complete(["p2ptop", "path", "--fabric", "icelake-gpu-switch", "gpu0", "nv"]) == ["nvme0", "nvme1", "nvme2"])
        let dumpDir = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-compl-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: dumpDir, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dumpDir + "/server.dump", contents: Data())
        #expect(try complete(["p2ptop", "list", "--dump", dumpDir + "/ser"]) == [dumpDir + "/server.dump"])
        if Self.has("zsh") {
            #expect(try CLI.run(["-c", "zsh -n \(prefix)/share/zsh/site-functions/_p2ptop"], shell: true).status == 0)
            // zsh runs the binary's own completion entry for a device argument; this is that call.
            let zsh = try String(contentsOfFile: prefix + "/share/zsh/site-functions/_p2ptop", encoding: .utf8)
            #expect(zsh.contains("':device:{__p2ptop_custom_complete ---completion show -- positional@0"))
            #expect(zsh.contains("sapphire-h100"), "the fabric names are in the zsh script")
            let entry = try CLI.run(["---completion", "show", "--", "positional@0", "4", "2", "p2ptop", "show", "--fabric", "icelake-gpu-switch", "gp"])
            #expect(entry.stdout.split(separator: "\n") == ["gpu0", "gpu1"], "\(entry.stdout)")
        }
        if Self.has("fish") {
            func fish(_ line: String) throws -> String {
                try CLI.run(["-c", "PATH=\(prefix)/bin:$PATH fish -c 'source \(prefix)/share/fish/vendor_completions.d/p2ptop.fish; complete -C \"\(line)\"'"], shell: true).stdout
            }
            let commands = try fish("p2ptop tr")
            #expect(commands.contains("tree\t") && commands.contains("transfer\t"))
            // (A device argument's completion asks fish's commandline for the cursor, which
            // `complete -C` outside an interactive session cannot give: that call is the
            // binary's entry tested above for zsh.)
            #expect(try fish("p2ptop tree --fabric sap").hasPrefix("sapphire-h100"))
        }
        // What loads them: said when bash-completion is absent, or the prefix is one no shell searches.
        #expect(r.stderr.contains("note: bash:") && r.stderr.contains("source \(bash)"), "\(r.stderr)")

        if Self.has("man") {
            let page = try CLI.run(["-c", "MANPATH=\(prefix)/share/man man -P cat p2ptop 2>/dev/null"], shell: true)
            #expect(page.stdout.contains("p2ptop") && page.stdout.contains("COMMANDS"))
        }
    }
}
