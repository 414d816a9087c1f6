import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Other people's files are hostile, and p2ptop runs as root (issue 20): a link planted where
/// p2ptop writes is never written through; no control sequence from a file reaches the
/// terminal; absurd numbers are one line and exit 2; special files never hang a command.
@Suite struct HostileFileTests {
    /// Window title, clear screen, OSC 52 (the clipboard), a one-character C1 CSI, a bidi
    /// override, BEL and DEL: what a hostile string carries.
    static let payload = "\u{1b}]0;owned\u{7}\u{1b}]52;c;RkFLRQ==\u{7}\u{1b}[2J\u{9b}31m\u{202e}evil\u{7f}"

    static func dir() -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-hostile-\(UUID().uuidString.prefix(8))").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// Raw bytes a terminal would obey: ESC, BEL, and C1 controls as UTF-8 (C2 80–C2 9F).
    static func rawControls(_ s: String) -> Int {
        let b = Array(s.utf8)
        var n = 0
        for (i, x) in b.enumerated() {
            if x == 0x1b || x == 0x07 { n += 1 }
            if x == 0xc2, i + 1 < b.count, (0x80...0x9f).contains(b[i + 1]) { n += 1 }
        }
        return n
    }

    /// The lab's recorded snapshot with the payload appended to every free-text field.
    static func hostileSnapshot() throws -> String {
        let path = SourceCorpus.repo.appendingPathComponent("Tests/LabTests/Recorded/intel/snapshot.json").path
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        // Fields whose text must parse (addresses, config bytes, enumerations) stay as they are.
        let structural: Set<String> = ["schema", "bdf", "config", "kernel", "cpu_vendor", "p2pdma_config", "source", "kind", "resources",
                                       "parent", "numa_node", "iommu_group", "class", "state", "link_layer", "gid", "type", "speed", "pci",
                                       "iommu_default_domain", "from", "target", "target_class"]
        func walk(_ x: Any, _ key: String?) -> Any {
            if let d = x as? [String: Any] { return Dictionary(uniqueKeysWithValues: d.map { ($0.key, walk($0.value, $0.key)) }) }
            if let a = x as? [Any] { return a.map { walk($0, key) } }
            if let s = x as? String, !structural.contains(key ?? ""), !s.hasPrefix("0x"), !(s.first?.isNumber ?? false) { return s + payload }
            return x
        }
        let file = dir() + "/hostile.json"
        try JSONSerialization.data(withJSONObject: walk(doc, nil)).write(to: URL(fileURLWithPath: file))
        return file
    }

    static let hostileNCCL = """
    <system version="1">
      <cpu numaid="0" affinity="0000ffff" arch="x86_64" vendor="GenuineIntel\(payload)" familyid="6" modelid="85">
        <pci busid="0000:01:00.0" class="0x030200" vendor="0x10de" device="0x20b0" link_speed="16 GT/s" link_width="16">
          <gpu dev="0"/>
        </pci>
        <pci busid="0000:02:00.0" class="0x020700" vendor="0x15b3" device="0x101b" link_speed="16 GT/s" link_width="16">
          <nic><net name="mlx5_0\(payload)" dev="0"/></nic>
        </pci>
      </cpu>
    </system>
    """

    /// An hwloc file whose OS device and OS name carry the payload (as character references).
    static let hostileHwloc = """
    <?xml version="1.0" encoding="UTF-8"?>
    <topology version="2.0">
      <object type="Machine" os_index="0" cpuset="0x00000001" complete_cpuset="0x00000001" nodeset="0x00000001" gp_index="1">
        <info name="OSName" value="Linux&#x1b;]0;t&#x7;"/>
        <object type="Bridge" gp_index="2" bridge_type="0-1" depth="0" bridge_pci="0000:[00-01]">
          <object type="PCIDev" gp_index="3" pci_busid="0000:01:00.0" pci_type="0200 [8086:1521] [8086:0001] 01" pci_link_speed="1.000000">
            <object type="OSDev" gp_index="4" name="eth0&#x1b;]52;c;eA==&#x7;&#x9b;1m&#x202e;" osdev_type="2"/>
          </object>
        </object>
      </object>
    </topology>
    """

    @Test func noControlSequenceFromAFileReachesTheTerminal() throws {
        let snapshot = try Self.hostileSnapshot()
        let hwloc = Self.dir() + "/hostile-hwloc.xml"
        try Self.hostileHwloc.write(toFile: hwloc, atomically: true, encoding: .utf8)
        let nccl = Self.dir() + "/hostile.xml"
        // XML attributes carry the payload as character references, as a hostile file would.
        let escaped = Self.hostileNCCL.unicodeScalars.map { $0.value < 0x20 && $0 != "\n" || (0x7f...0x9f).contains($0.value) || $0.value == 0x202e
                                                            ? "&#x\(String($0.value, radix: 16));" : String($0) }.joined()
        try escaped.write(toFile: nccl, atomically: true, encoding: .utf8)
        let scenario = Self.dir() + "/hostile.scenario"
        try "@title Hostile\(Self.payload)\n@description \(Self.payload)\n@fabric icelake-gpu-switch\ncaption \"\(Self.payload)\"\nmap a kind=host size=4K\n"
            .write(toFile: scenario, atomically: true, encoding: .utf8)
        var runs = 0
        for args in [["show", "nvme0", "--snapshot", snapshot], ["tree", "--snapshot", snapshot], ["list", "--snapshot", snapshot],
                     ["doctor", "--snapshot", snapshot], ["rdma", "--snapshot", snapshot], ["matrix", "--snapshot", snapshot],
                     ["path", "nvme0", "nvme1", "--snapshot", snapshot], ["bars", "nvme1", "--snapshot", snapshot],
                     ["show", "nic0", "--nccl", nccl], ["doctor", "--nccl", nccl], ["tree", "--nccl", nccl], ["matrix", "--nccl", nccl],
                     ["scenario", "run", scenario], ["scenario", "list"], ["show", "nvme0", "--json", "--snapshot", snapshot],
                     ["list", "--dump", "/nonexistent\(Self.payload)"], ["show", "01:00.0", "--hwloc", hwloc], ["tree", "--hwloc", hwloc],
                     ["doctor", "--hwloc", hwloc]] {
            let r = try CLI.run(args, env: ["COLUMNS": "200"])
            #expect(r.status <= 2 && !(r.stdout + r.stderr).isEmpty, "\(args): exit \(r.status)")
            #expect(Self.rawControls(r.stdout) == 0 && Self.rawControls(r.stderr) == 0, "\(args.prefix(2)): a raw control reached the terminal")
            runs += 1
        }
        #expect(runs == 19)
        let os = try CLI.run(["show", "01:00.0", "--hwloc", hwloc], env: ["COLUMNS": "300"])
        #expect(os.stdout.contains("eth0\\x1b]52;c;eA==\\x07\\u009b1m\\u202e"), "\(os.stdout)")
        // What the files said is still said, as visible escapes.
        let show = try CLI.run(["show", "nvme0", "--snapshot", snapshot], env: ["COLUMNS": "300"])
        #expect(show.stdout.contains("\\x1b]52;c;RkFLRQ==\\x07") && show.stdout.contains("\\u202e"), "\(show.stdout)")
        // JSON stays exact: the same string, escaped so a terminal shows it inert.
        let json = try CLI.run(["show", "nvme0", "--json", "--snapshot", snapshot])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let driver = ((doc["device"] as? [String: Any])?["sysfs"] as? [String: Any])?["driver"] as? String
        #expect(driver == "nvme" + Self.payload, "\(driver ?? "no device.sysfs.driver")")
        // export --nccl writes XML that p2ptop (and any XML reader) reads back.
        let exported = Self.dir() + "/export.xml"
        let e = try CLI.run(["export", "--nccl", "-o", exported, "--snapshot", snapshot])
        #expect(e.status == 0, "\(e.stderr)")
        let back = try CLI.run(["tree", "--nccl", exported])
        #expect(back.status == 0 && Self.rawControls(back.stdout) == 0, "\(back.stderr)")
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") {
            let parse = try CLI.run(["-c", "/usr/bin/python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' \(exported)"], shell: true)
            #expect(parse.status == 0, "not well-formed XML: \(parse.stdout)\(parse.stderr)")
        }
    }

    /// A recording's screens are text to show: without a terminal each line is printed with
    /// its controls as visible escapes; absurd steps are one line and exit 2.
    @Test func aHostileRecordingIsShownNotObeyed() throws {
        let d = Self.dir()
        func recording(step: String, of: String, line: String) -> String {
            "{\"schema\": \"p2ptop.demo-recording/1\", \"title\": \"t\", \"frames\": [{\"step\": \(step), \"of\": \(of), \"ended\": false, \"screen\": [\(line)]}]}"
        }
        let evil = d + "/evil.json"
        try recording(step: "1", of: "2", line: "\"FAKE: all checks passed\\u001b[2J\\u001b]52;c;eA==\\u0007\\u009b1m\"").write(toFile: evil, atomically: true, encoding: .utf8)
        let r = try CLI.run(["demo", "--replay", evil])
        #expect(r.status == 0 && Self.rawControls(r.stdout) == 0 && r.stdout.contains("FAKE: all checks passed\\x1b[2J"), "\(r.stdout)")
        for (step, of) in [("1e300", "2"), ("18446744073709551616", "2"), ("1", "1e300"), ("-1", "2"), ("3", "2"), ("1.5", "2")] {
            let f = d + "/steps.json"
            try recording(step: step, of: of, line: "\"x\"").write(toFile: f, atomically: true, encoding: .utf8)
            let bad = try CLI.run(["demo", "--replay", f])
            let lines = bad.stderr.split(separator: "\n")
            #expect(bad.status == 2 && lines.count == 1 && lines[0].contains("frames[0]."), "step \(step) of \(of): \(bad.status) \(bad.stderr)")
        }
    }

    /// NVLink counts out of 1…18 in an NCCL file or a snapshot: the file, line or field, exit 2.
    @Test func absurdNumbersAreOneLine() throws {
        let d = Self.dir()
        for count in ["9223372036854775807", "-4", "0", "19", "1e3"] {
            let f = d + "/nvlink.xml"
            try """
            <system version="1">
              <cpu numaid="0" affinity="0000ffff">
                <pci busid="0000:01:00.0" class="0x030200" vendor="0x10de" device="0x20b0" link_speed="16 GT/s" link_width="16">
                  <gpu dev="0"><nvlink target="0000:02:00.0" count="\(count)" tclass="0x030200"/></gpu>
                </pci>
              </cpu>
            </system>
            """.write(toFile: f, atomically: true, encoding: .utf8)
            let r = try CLI.run(["matrix", "--nccl", f])
            #expect(r.status == 2 && r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("nvlink.xml:4:") && r.stderr.contains("1 to 18"), "\(count): \(r.stderr)")
        }
    }

    /// hwloc's NVLinkBandwidth of 2^64−1 and 2^63−1 MB/s between two GPUs: as many links as a
    /// GPU can have (NV18), not an overflow.
    @Test func anAbsurdNVLinkBandwidthIsEighteenLinks() throws {
        let f = Self.dir() + "/nvlinks.xml"
        try """
        <?xml version="1.0" encoding="UTF-8"?>
        <topology version="2.0">
          <object type="Machine" os_index="0" cpuset="0x00000001" complete_cpuset="0x00000001" nodeset="0x00000001" gp_index="1">
            <object type="Bridge" gp_index="2" bridge_type="0-1" depth="0" bridge_pci="0000:[00-02]">
              <object type="PCIDev" gp_index="3" pci_busid="0000:01:00.0" pci_type="0302 [10de:1db4] [10de:0001] a1" pci_link_speed="15.75">
                <object type="OSDev" gp_index="4" name="nvml0" osdev_type="1"/>
              </object>
              <object type="PCIDev" gp_index="5" pci_busid="0000:02:00.0" pci_type="0302 [10de:1db4] [10de:0001] a1" pci_link_speed="15.75">
                <object type="OSDev" gp_index="6" name="nvml1" osdev_type="1"/>
              </object>
            </object>
          </object>
          <distances2hetero nbobjs="2" kind="5" name="NVLinkBandwidth" indexing="gp">
            <indexes length="12">OSDev:4 OSDev:6</indexes>
            <u64values length="100">0 18446744073709551615 9223372036854775807 0</u64values>
          </distances2hetero>
        </topology>
        """.write(toFile: f, atomically: true, encoding: .utf8)
        let r = try CLI.run(["matrix", "--hwloc", f])
        #expect(r.status == 0 && r.stdout.contains("NV18") && !r.stdout.contains("NV19"), "\(r.status) \(r.stdout)\(r.stderr)")
    }

    /// A link planted at the name p2ptop writes is replaced, never written through, for every
    /// output; nothing is left beside it; the victim keeps its bytes.
    @Test func plantedLinksAreNeverWrittenThrough() throws {
        let d = Self.dir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let victim = d + "/victim"
        try "victim\n".write(toFile: victim, atomically: true, encoding: .utf8)
        let outputs: [(name: String, args: (String) -> [String])] = [
            ("snapshot.json", { ["snapshot", "--fabric", "workstation", "-o", $0] }),
            ("export.xml", { ["export", "--nccl", "--fabric", "workstation", "-o", $0] }),
            ("recording.json", { ["demo", "cross-socket", "--record", $0] }),
            ("metrics.om", { ["watch", "--count", "1", "--interval", "0.05", "--openmetrics", $0] }),
            ("metrics.prom", { ["watch", "--count", "1", "--interval", "0.05", "--textfile", $0] }),
            ("trace.json", { ["watch", "--count", "2", "--interval", "0.05", "--trace", $0] }),
        ]
        for o in outputs {
            let target = d + "/" + o.name
            #expect(symlink(victim, target) == 0)
            let r = try CLI.run(o.args(target))
            #expect(r.status == 0, "\(o.name): \(r.stderr)")
            var st = stat()
            #expect(lstat(target, &st) == 0 && st.st_mode & S_IFMT == S_IFREG, "\(o.name): the link was replaced by a regular file")
            #expect(try String(contentsOfFile: victim, encoding: .utf8) == "victim\n", "\(o.name): the victim was written through the link")
        }
        // A real O_DIRECT write goes only to a new file: a link at the name is refused.
        let link = d + "/new.bin"
        #expect(symlink(victim, link) == 0)
        let write = try CLI.run(["transfer", "--from", "host", "--to", "file:" + link, "--size", "1M"])
        let after = try String(contentsOfFile: victim, encoding: .utf8)
        #expect(write.status != 0 && after == "victim\n", "\(write.stdout)\(write.stderr)")
        unlink(link)
        // Nothing but the outputs and the victim: no temporary left behind.
        let left = try FileManager.default.contentsOfDirectory(atPath: d).sorted()
        #expect(left == (outputs.map(\.name) + ["victim"]).sorted(), "\(left)")
        // install: the same for every file it writes, under a prefix whose targets are links.
        let prefix = d + "/prefix"
        for rel in ["bin/p2ptop", "share/bash-completion/completions/p2ptop", "share/man/man1/p2ptop.1"] {
            try FileManager.default.createDirectory(atPath: (prefix + "/" + rel as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            #expect(symlink(victim, prefix + "/" + rel) == 0)
        }
        let install = try CLI.run(["install", "--prefix", prefix])
        #expect(install.status == 0, "\(install.stderr)")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "victim\n", "install wrote through a link")
        var st = stat()
        #expect(stat(victim, &st) == 0 && st.st_mode & 0o777 != 0o755, "install chmod'ed the victim")
        #expect(stat(prefix + "/bin/p2ptop", &st) == 0 && st.st_mode & 0o777 == 0o755, "the installed binary is executable")
        for bad in ["", "relative/dir"] {
            let r = try CLI.run(["install", "--prefix", bad])
            #expect(r.status == 2 && r.stderr.contains("expected an absolute directory"), "--prefix '\(bad)': \(r.stderr)")
        }
    }

    /// Special files are refused as outputs and real transfer sources, at once, never waited on.
    @Test func specialFilesNeverHang() throws {
        let d = Self.dir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let fifo = d + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        for args in [["watch", "--count", "1", "--trace", fifo], ["watch", "--count", "1", "--trace", "/dev/full"],
                     ["watch", "--count", "1", "--openmetrics", "/dev/null"], ["snapshot", "--fabric", "workstation", "-o", fifo]] {
            let r = try CLI.run(args)
            #expect(r.status == 2 && r.seconds < 10 && r.stdout.isEmpty, "\(args): \(r.status) \(r.stderr) \(r.stdout.prefix(200))")
            #expect(r.stderr.contains("p2ptop writes only regular files"), "\(args): \(r.stderr)")
        }
        var st = stat()
        #expect(stat("/dev/full", &st) == 0 && st.st_mode & S_IFMT == S_IFCHR, "/dev/full is still a device")
        let r = try CLI.run(["transfer", "--from", "file:" + fifo, "--to", "host", "--size", "4M", "--json"])
        #expect(r.status == 1 && r.seconds < 10 && r.stdout.contains("a FIFO"), "\(r.stdout)")
    }
}
