import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The failures a hostile-input campaign found (issue 14), each kept as a regression: one line
/// on stderr naming the file, exit 2, quickly — never a crash, a hang or unbounded memory.
@Suite struct RobustnessTests {
    static func dir() -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-robust-\(UUID().uuidString.prefix(8))").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// Exit 2 within `seconds`, exactly one stderr line that contains `needle`.
    func expectOneLine(_ args: [String], _ needle: String, seconds: Double = 10, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try CLI.run(args)
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(r.status == 2, "\(args): status \(r.status), stderr \(r.stderr)", sourceLocation: sourceLocation)
        #expect(lines.count == 1 && lines[0].contains(needle), "\(args): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.seconds < seconds, "\(args) took \(r.seconds) s", sourceLocation: sourceLocation)
    }

    /// A FIFO with no writer, a directory or /dev/zero as any input file: refused at once.
    @Test func specialFilesAreRefusedNotRead() throws {
        let d = Self.dir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let fifo = d + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        for flag in ["--dump", "--snapshot", "--hwloc"] {
            try expectOneLine(["list", flag, fifo], "is a FIFO, not a file")
            try expectOneLine(["list", flag, "/dev/zero"], "is a device, not a file")
            try expectOneLine(["list", flag, d], "is a directory")
        }
        try expectOneLine(["scenario", "run", fifo], "no such bundled scenario or readable file")
        try expectOneLine(["--theme", fifo, "--fabric", "workstation"], "is a FIFO, not a file")
        try expectOneLine(["--theme", "/dev/zero", "--fabric", "workstation"], "is a device")
    }

    /// A captured sysfs root with a FIFO where an attribute belongs used to hang libpci.
    @Test func fifoInACapturedSysfsRoot() throws {
        let d = Self.dir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let fn = d + "/sys/bus/pci/devices/0000:00:00.0"
        try FileManager.default.createDirectory(atPath: fn, withIntermediateDirectories: true)
        var config = [UInt8](repeating: 0, count: 64)
        config[0] = 0x86; config[1] = 0x80; config[2] = 0x00; config[3] = 0x12
        FileManager.default.createFile(atPath: fn + "/config", contents: Data(config))
        #expect(mkfifo(fn + "/numa_node", 0o600) == 0)
        try expectOneLine(["list", "--sysfs-root", d], "numa_node: is a FIFO")
        try expectOneLine(["doctor", "--sysfs-root", d], "numa_node: is a FIFO")
    }

    /// ~3900 nested hwloc objects overflowed the stack; now a line-numbered refusal.
    @Test func deepHwlocNesting() throws {
        let d = Self.dir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let xml = "<topology version=\"2.0\">" + String(repeating: "<object type=\"Group\">", count: 3900)
            + String(repeating: "</object>", count: 3900) + "</topology>"
        try xml.write(toFile: d + "/deep.xml", atomically: true, encoding: .utf8)
        try expectOneLine(["list", "--hwloc", d + "/deep.xml"], "deep.xml:1: elements nested deeper than 256 levels")
    }

    /// Scenario numbers and names: each refused before anything runs, naming file and line.
    @Test func scenarioArgumentsAreCheckedFirst() throws {
        let d = Self.dir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let cases: [(String, String)] = [
            ("@kernel x\nmap a kind=host\n", "s.txt:1: @kernel 'x': expected a version"),
            ("@fabric nosuch\nmap a kind=host\n", "s.txt:1: @fabric 'nosuch': no such demo fabric"),
            ("map a kind=host size=abc\n", "s.txt:1: size='abc'"),
            ("map a kind=host size=9223372036854775807K\n", "s.txt:1: size='9223372036854775807K'"),
            ("map a kind=host\npin p map=a pages=-1 flags=PIN\n", "s.txt:2: pages='-1'"),
            ("map a kind=host\npin p map=a pages=99999999999 flags=PIN\n", "s.txt:2: pages='99999999999'"),
            ("map a kind=host\npin p map=a offset=-1 flags=PIN\n", "s.txt:2: offset='-1'"),
            ("map a kind=host\npin p map=a offset=9223372036854775807 flags=PIN\n", "s.txt:2: offset="),
            ("transfer from=nvme0 to=nvme1 size=4096G\n", "s.txt:1: size='4096G': at most 64 GiB"),
            ("map a kind=p2pmem device=nosuch\n", "s.txt:1: device='nosuch'"),
            ("pin p map=nothing flags=PIN\n", "s.txt:1: 'nothing': no map of that name"),
            ("wait 100000\n", "s.txt:1: wait '100000'"),
            ("map a kind=host size=" + String(repeating: "9", count: 100_000) + "\n", "…'"),
        ]
        for (text, needle) in cases {
            try text.write(toFile: d + "/s.txt", atomically: true, encoding: .utf8)
            let r = try CLI.run(["scenario", "run", d + "/s.txt"])
            #expect(r.status == 2 && r.stdout.isEmpty, "\(needle): \(r.status) \(r.stdout)")
            #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains(needle) && r.stderr.count < 400, "\(needle): \(r.stderr.prefix(300))")
        }
    }

    /// CRLF scripts are read line by line, like LF ones.
    @Test func crlfScenarioRuns() throws {
        let d = Self.dir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        try "@fabric icelake-gpu-switch\r\nmap a kind=host size=1M\r\npin p map=a flags=PIN\r\nunpin p\r\nunmap a\r\n".write(toFile: d + "/crlf.txt", atomically: true, encoding: .utf8)
        let r = try CLI.run(["scenario", "run", d + "/crlf.txt", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").count == 5, "four steps and the end: \(r.stdout)")
    }

    /// A modelled transfer far larger than any window is refused up front (it used to run for
    /// hours, or grow to gigabytes for a dma-buf).
    @Test func hugeModelledTransfersAreRefused() throws {
        let r = try CLI.run(["transfer", "--fabric", "icelake-gpu-switch", "--from", "nic0", "--to", "gpu0", "--via", "dmabuf", "--size", "4096G"])
        #expect(r.status == 2 && r.stderr.contains("at most 64G") && r.seconds < 10)
    }

    /// Under an address-space limit the engine says ENOMEM where it needs a BAR's worth of
    /// address space; it used to fall back to one page and crash writing past it.
    @Test func addressSpaceLimitIsAnErrorNotACrash() throws {
        for args in ["transfer --fabric icelake-gpu-switch --from nic0 --to gpu0 --via dmabuf", "scenario run seed-story"] {
            let r = try CLI.run(["-c", "ulimit -v 8000000; exec \(CLI.binary.path) \(args)"], shell: true)
            #expect(r.status == 0 || r.status == 1, "\(args): \(r.status) \(r.stderr)")
            #expect(r.status < 128, "killed by a signal")
        }
    }

    /// A newline (or any control character) in what an error echoes stays on one line.
    @Test func errorsAreOneLineWhateverTheyEcho() throws {
        try expectOneLine(["list", "--dump", "a\nb\u{1}c\u{1b}]0;x\u{7}"], "a\\x0ab\\x01c\\x1b]0;x\\x07")
    }

    /// An empty theme file is a mistake, said so.
    @Test func emptyThemeIsRefused() throws {
        let d = Self.dir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        FileManager.default.createFile(atPath: d + "/t.toml", contents: Data())
        try expectOneLine(["--theme", d + "/t.toml", "--fabric", "workstation"], "t.toml:1: no settings")
    }

    /// Every command and bundled scenario under tight address-space limits: a value, or a clear
    /// error where the memory is really needed — never a crash (a signal ends nothing).
    @Test(arguments: [1_000_000, 4_000_000, 16_000_000])
    func everyCommandUnderAnAddressSpaceLimit(_ kilobytes: Int) throws {
        let f = "--fabric icelake-gpu-switch"
        let commands = ["tree \(f)", "list \(f) --json", "show gpu0 \(f)", "matrix \(f)", "path gpu0 nic0 \(f)", "provider nic0 nvme0 \(f)",
                        "doctor \(f)", "fabrics", "snapshot \(f)", "scenario list",
                        "transfer \(f) --from nvme0 --to nvme1 --size 64M --unthrottled", "transfer \(f) --from nic0 --to gpu0 --via dmabuf --size 64M --unthrottled",
                        "transfer \(f) --from nic0 --to host --via rdma --size 64M --unthrottled", "transfer \(f) --from host --to nic0 --via zerocopy --size 16M --unthrottled",
                        "transfer \(f) --from host --to nvme1 --via cpu --size 16M --unthrottled",
                        "scenario run seed-story", "scenario run acs-flip", "scenario run cross-socket"]
        for c in commands {
            let r = try CLI.run(["-c", "ulimit -v \(kilobytes); exec \(CLI.binary.path) \(c) >/dev/null"], shell: true)
            #expect(r.status < 128 && !r.stderr.contains("Fatal error"), "ulimit -v \(kilobytes) \(c): \(r.status) \(r.stderr.prefix(300))")
            if r.status != 0 { #expect(!r.stderr.isEmpty, "ulimit -v \(kilobytes) \(c): a failure says why") }
        }
    }
}
