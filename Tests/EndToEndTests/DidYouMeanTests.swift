import Foundation
import Testing

/// A command line that helps (issue 24, item 6): a mistyped command, subcommand, option, device
/// or fabric is one line on stderr, exit 2, naming the nearest real one; `help NOSUCH` is an
/// error; a negative number reaches the option's own check.
@Suite struct DidYouMeanTests {
    func usage(_ args: [String], says expected: String) throws {
        let r = try CLI.run(args)
        #expect(r.status == 2 && r.stdout.isEmpty, "\(args): \(r.status) \(r.stdout.prefix(200))")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && r.stderr.contains(expected), "\(args): \(r.stderr)")
    }

    @Test func commandsAndSubcommands() throws {
        try usage(["tre"], says: "no command 'tre'; did you mean tree?")
        try usage(["lsit"], says: "did you mean list?")
        try usage(["lab", "chek"], says: "no command 'lab chek'; did you mean check?")
        try usage(["scenario", "rn"], says: "did you mean run?")
        try usage(["zzzzzz"], says: "no command 'zzzzzz' (p2ptop help lists them)")
    }

    @Test func helpOfAnUnknownCommandIsAnError() throws {
        try usage(["help", "nosuch"], says: "no command 'nosuch'")
        try usage(["help", "doctr"], says: "did you mean doctor?")
        let ok = try CLI.run(["help", "tree"])
        #expect(ok.status == 0 && ok.stdout.contains("OVERVIEW: Show the PCI bus tree"))
    }

    @Test func optionsDevicesAndFabrics() throws {
        try usage(["list", "--fabirc", "workstation"], says: "'--fabric'")
        try usage(["list", "--fabric", "workstaton"], says: "did you mean workstation?")
        try usage(["show", "gpu9", "--fabric", "workstation"], says: "did you mean gpu0?")
        try usage(["show", "nvme", "--fabric", "workstation"], says: "did you mean nvme0 or nvme1?")
        // Nothing close: no guess.
        let far = try CLI.run(["show", "qqqqqqqq", "--fabric", "workstation"])
        #expect(far.status == 2 && !far.stderr.contains("did you mean"))
    }

    @Test func aNegativeNumberIsAValueNotAMissingOne() throws {
        try usage(["transfer", "--fabric", "workstation", "--from", "gpu0", "--to", "nvme0", "--size", "-5"], says: "'-5'")
        let r = try CLI.run(["transfer", "--fabric", "workstation", "--from", "gpu0", "--to", "nvme0", "--size", "-5"])
        #expect(!r.stderr.contains("Missing value") && r.stderr.contains("expected bytes"), "\(r.stderr)")
    }
}
