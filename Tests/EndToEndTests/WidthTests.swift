import Foundation
import Testing

/// No text command prints a line over 80 columns on an 80-column terminal (COLUMNS=80, not a
/// tty), on any fixture or demo fabric; `--plain` (lspci's own format) is exempt. Also: a
/// narrower terminal is honoured, and the words of a line survive the wrapping.
@Suite struct WidthTests {
    /// Lines wider than `width`, except a single word standing alone (a kernel parameter wider
    /// than the terminal is printed whole, on its own line, so that it can be copied).
    static func overflow(_ text: String, width: Int = 80) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.count > width && $0.contains(" ") }
    }

    /// Runs each text command on each source at COLUMNS=80; returns how many ran and the
    /// lines (or failures) that broke the promise.
    static func checkWidths(_ sources: [[String]], extra: [[String]] = []) throws -> (ran: Int, checked: Int, offenders: [String]) {
        var ran = 0, checked = 0
        var offenders: [String] = []
        func check(_ args: [String]) throws {
            ran += 1
            let r = try CLI.run(args, env: ["COLUMNS": "80"])
            guard r.status == 0 || r.status == 1 else { offenders.append("\(args.joined(separator: " ")): exit \(r.status): \(r.stderr)"); return }
            checked += 1
            for line in Self.overflow(r.stdout) { offenders.append("\(args.joined(separator: " ")): \(line.count): \(line)") }
        }
        for source in sources {
            let eps = SourceCorpus.endpoints(source, 2)
            for command in [["list"], ["tree"], ["doctor"], ["matrix"]] { try check(command + source) }
            if let first = eps.first { try check(["show", first] + source) }
            if eps.count == 2 {
                try check(["path", eps[0], eps[1]] + source)
                try check(["provider", eps[0], eps[1]] + source)
                try check(["doctor", eps[0], eps[1]] + source)
            }
        }
        for command in extra { try check(command) }
        return (ran, checked, offenders)
    }

    /// The demo fabrics, the lab's recorded snapshots, the live machine, and the commands
    /// that read no machine: every one ran, every one fits.
    @Test func everyTextCommandFitsEightyColumnsOnEverySource() throws {
        let r = try Self.checkWidths(SourceCorpus.builtIn, extra: [
            ["fabrics"], ["scenario", "list"], ["scenario", "run", "seed-story"], ["rdma"], ["lab", "fabrics"], ["schema"],
            ["transfer", "--from", "nvme0", "--to", "nvme1", "--size", "4M", "--fabric", "icelake-gpu-switch"],
            ["transfer", "--from", "nic0", "--to", "nvme1", "--via", "rdma", "--size", "4M", "--fabric", "icelake-gpu-switch"],
            ["watch", "--count", "2", "--interval", "0.05"]])
        #expect(r.checked == r.ran && r.ran >= SourceCorpus.builtIn.count * 4 + 9, "\(r.checked) of \(r.ran) outputs")
        #expect(r.offenders.isEmpty, "\(r.offenders.count) lines over 80 columns, e.g.\n\(r.offenders.prefix(12).joined(separator: "\n"))")
    }

    /// The same on every real machine's file in ../shared/fixtures.
    @Test(.needsFixtures) func everyTextCommandFitsEightyColumnsOnEveryFixture() throws {
        let r = try Self.checkWidths(SourceCorpus.fixtureSources)
        #expect(SourceCorpus.fixtureSources.count >= SourceCorpus.fixtureSourceMinimum && r.checked == r.ran, "\(r.checked) of \(r.ran) outputs")
        #expect(r.offenders.isEmpty, "\(r.offenders.count) lines over 80 columns, e.g.\n\(r.offenders.prefix(12).joined(separator: "\n"))")
    }

    @Test func aNarrowTerminalIsHonouredAndNoWordIsLost() throws {
        let wide = try CLI.run(["doctor", "--fabric", "workstation"], env: ["COLUMNS": "400"])
        let narrow = try CLI.run(["doctor", "--fabric", "workstation"], env: ["COLUMNS": "76"])
        #expect(Self.overflow(narrow.stdout, width: 76).isEmpty, "\(narrow.stdout)")
        // The same words in the same order: wrapping only moves them.
        func words(_ s: String) -> [Substring] { s.split(whereSeparator: { $0 == " " || $0 == "\n" }) }
        #expect(words(wide.stdout) == words(narrow.stdout))
        // A kernel parameter to paste is never split across lines, even one wider than the terminal.
        #expect(narrow.stdout.contains("pci=disable_acs_redir=0000:00:01.0;0000:00:06.0;0000:00:1c.0;0000:00:1c.4"))
        #expect(narrow.stdout.contains("\npci=config_acs=0x00xx@0000:00:01.0;0x00xx@0000:00:06.0;0x00xx@0000:00:1c.0;0x00xx@0000:00:1c.4\n"))
        // --plain is lspci's format: never wrapped.
        let plain = try CLI.run(["tree", "--plain", "--fabric", "icelake-gpu-switch"], env: ["COLUMNS": "60"])
        #expect(!Self.overflow(plain.stdout, width: 60).isEmpty)
    }
}

/// Script-safe text: when stdout is not a terminal and `COLUMNS` is not set, nothing wraps or
/// is cut — `p2ptop list | grep BDF` finds every function's whole line, as lspci's would.
@Suite struct PipeTests {
    @Test func aPipeGetsEveryLineWhole() throws {
        var wrappedAt80 = 0
        for source in SourceCorpus.builtIn {
            for command in [["list"], ["tree"], ["doctor"]] {
                let piped = try CLI.run(command + source, env: ["COLUMNS": ""])
                let wide = try CLI.run(command + source, env: ["COLUMNS": "1000"])
                #expect(piped.status == wide.status && piped.stdout == wide.stdout, "\((command + source).joined(separator: " ")): a pipe is as wide as it needs")
                if try CLI.run(command + source, env: ["COLUMNS": "80"]).stdout != piped.stdout { wrappedAt80 += 1 }
            }
            // Every function's line holds its BDF and its IDs together.
            let list = try CLI.run(["list"] + source, env: ["COLUMNS": ""])
            let lines = list.stdout.split(separator: "\n")
            #expect(!lines.isEmpty && lines.allSatisfy { $0.first?.isHexDigit == true && $0.contains("[") }, "\(source): \(list.stdout.prefix(400))")
        }
        #expect(wrappedAt80 > 0, "at 80 columns some of these do wrap: the comparison can fail")
    }

    /// `p2ptop list | grep BDF` on every fixture (30 dumps, the hwloc and NCCL files, the sysfs
    /// trees): each function's BDF is at the start of one whole line that also holds its IDs.
    @Test(.needsFixtures) func grepFindsEveryFunctionOnEveryFixture() throws {
        var functions = 0
        for source in SourceCorpus.fixtureSources {
            let list = try CLI.run(["list"] + source, env: ["COLUMNS": ""])
            let json = try CLI.run(["list", "--json"] + source, env: ["COLUMNS": ""])
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(source)")
            let devices = try #require(doc["devices"] as? [[String: Any]])
            #expect(!devices.isEmpty, "\(source): no functions")
            let lines = list.stdout.split(separator: "\n").map(String.init)
            for d in devices {
                let bdf = try #require(d["bdf"] as? String), ids = "[\(d["vendor_id"] as? String ?? "?"):\(d["device_id"] as? String ?? "?")]"
                // lspci's form: the domain is left out where every function is in domain 0000.
                let short = bdf.hasPrefix("0000:") ? String(bdf.dropFirst(5)) : bdf
                let hits = lines.filter { $0.hasPrefix(bdf + " ") || $0.hasPrefix(short + " ") }
                #expect(hits.count == 1 && hits[0].contains(ids), "\(source.joined(separator: " ")): grep \(bdf) → \(hits)")
                functions += 1
            }
        }
        #expect(SourceCorpus.fixtureSources.count >= SourceCorpus.fixtureSourceMinimum && functions > 500, "\(functions) functions")
    }
}
