import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The terminal UI under tmux: a private server per test, polling the pane for markers.
struct TmuxSession {
    let socket: String
    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") }

    /// `shellIgnoresInterrupt`: the shell around the program survives Ctrl-C (sent to the whole
    /// foreground group), so the program's own answer to it can be read afterwards.
    init(_ args: [String], width: Int = 120, height: Int = 40, shellIgnoresInterrupt: Bool = false) throws {
        socket = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-tmux-\(UUID().uuidString.prefix(8)).sock").path
        // The program runs under a shell that prints its exit status and the terminal modes
        // afterwards: the screen then says how it ended, whatever tmux's reaping does.
        let command = ([CLI.binary.path] + args).joined(separator: " ")
        let script = (shellIgnoresInterrupt ? "trap '' INT; " : "") + "\(command); echo P2PTOP_EXIT=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo P2PTOP_MODES_END; sleep 60"
        try tmux(capture: false, ["-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "\(width)", "-y", "\(height)",
                  "-e", "LANG=C.UTF-8", "-e", "SWIFT_BACKTRACE=interactive=no", "-e", "TERM=tmux-256color",
                  "/bin/sh", "-c", script])
    }

    /// Runs a tmux client with posix_spawn + waitpid (Foundation's Process can miss the exit
    /// of the client that daemonises the server). Output goes through a temporary file.
    @discardableResult
    func tmux(capture: Bool = true, _ args: [String]) throws -> String {
        let outPath = FileManager.default.temporaryDirectory.appendingPathComponent("tmux-out-\(UUID().uuidString.prefix(8))").path
        defer { unlink(outPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, capture ? outPath : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = (["/usr/bin/tmux", "-S", socket] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // The test runner's threads block signals; the tmux server (and so p2ptop) must not
        // inherit that mask.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK))
        var pid = pid_t()
        guard posix_spawn(&pid, "/usr/bin/tmux", &actions, &attr, argv, environ) == 0 else { return "" }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return capture ? ((try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "") : ""
    }

    func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", "t"]) }

    /// Polls the pane (every 20 ms) until `text` shows, or fails after `seconds`.
    func waitFor(_ text: String, present: Bool = true, seconds: Double = 10) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try screen().contains(text) == present { return true }
            usleep(20_000)
        }
        return false
    }

    func keys(_ k: String...) throws { try tmux(["send-keys", "-t", "t"] + k) }

    /// The program's exit status once it has exited (from the shell's echo), and whether the
    /// terminal came back in canonical mode with echo.
    func exitStatus(seconds: Double = 10) throws -> Int? {
        guard try waitFor("P2PTOP_EXIT=", seconds: seconds) else { return nil }
        let text = try screen()
        guard let r = text.range(of: "P2PTOP_EXIT=") else { return nil }
        return Int(text[r.upperBound...].prefix { $0.isNumber })
    }

    /// Whether the terminal came back in canonical mode with echo: waits for the line the shell
    /// prints after the program (the exit status shows a moment before it) and reads only that line.
    func terminalRestored(seconds: Double = 10) throws -> Bool {
        guard try waitFor("P2PTOP_MODES_END", seconds: seconds) else { return false }
        guard let line = try screen().split(separator: "\n").first(where: { $0.contains("P2PTOP_MODES_END") }) else { return false }
        let modes = Set(line.split(separator: " ").map(String.init))
        return modes.contains("icanon") && modes.contains("echo") && !modes.contains("-icanon") && !modes.contains("-echo")
    }

    func kill() { _ = try? tmux(["kill-server"]); try? FileManager.default.removeItem(atPath: socket) }
}

@Suite(.enabled(if: TmuxSession.available, "tmux not installed"), .serialized)
struct TmuxTests {
    @Test func navigateHelpMatrixResizeQuit() throws {
        let s = try TmuxSession(["--fabric", "icelake-gpu-switch"])
        defer { s.kill() }
        let ready = try s.waitFor("p2ptop tree --fabric icelake-gpu-switch")
        #expect(ready, "ready: \((try? s.screen()) ?? "")")
        #expect(try s.screen().contains("gpu0"))
        try s.keys("Down", "Down", "Enter")
        try s.keys("3")
        #expect(try s.waitFor("P2P verdicts"))
        #expect(try s.waitFor("p2ptop path gpu0 nic0"))
        try s.keys("?")
        #expect(try s.waitFor("Keys"))
        try s.keys("Escape")
        #expect(try s.waitFor("Keys", present: false))
        try s.tmux(["resize-window", "-t", "t", "-x", "80", "-y", "24"])
        #expect(try s.waitFor("p2ptop path"))
        try s.tmux(["resize-window", "-t", "t", "-x", "50", "-y", "12"])
        #expect(try s.waitFor("terminal too small"))
        try s.tmux(["resize-window", "-t", "t", "-x", "100", "-y", "30"])
        #expect(try s.waitFor("P2P verdicts"))
        try s.keys("Tab")
        #expect(try s.waitFor("Pins — BAR pages"))
        try s.keys("q")
        let status = try s.exitStatus()
        #expect(status == 0, "after q: \(String(describing: status)); screen: \((try? s.screen()) ?? "")")
        #expect(try s.terminalRestored(), "terminal modes after q: \((try? s.screen()) ?? "")")
    }

    /// Every screen at 80×24, 120×40 and 160×48 in a real terminal: header and status whole, no
    /// doubled box corner, no text running into a border (cut mid-word), the legends there, and
    /// on a wide terminal the right half in use (the side panes).
    @Test func everyScreenAtThreeSizes() throws {
        let s = try TmuxSession(["--fabric", "icelake-gpu-switch"], width: 80, height: 24)
        defer { s.kill() }
        #expect(try s.waitFor("p2ptop tree --fabric icelake-gpu-switch"))
        try s.keys("Down", "Down", "Down", "Down")     // gpu0: a P2P endpoint
        for (w, h) in [(80, 24), (120, 40), (160, 48)] {
            try s.tmux(["resize-window", "-t", "t", "-x", "\(w)", "-y", "\(h)"])
            for (key, marker) in [("1", w >= 160 ? "P2P partners (6)" : "BUS:DEV.FN"), ("2", w >= 120 ? "P2P partners" : "(gpu0)"), ("3", "PIX"), ("4", "nr_foll_pin_acquired"), ("5", "t starts"), ("6", "BARs of")] {
                try s.keys(key)
                #expect(try s.waitFor(marker), "screen \(key) at \(w)×\(h): no '\(marker)'\n\((try? s.screen()) ?? "")")
                usleep(150_000)
                let lines = try s.screen().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                let shown = lines.prefix(h)
                let text = shown.joined(separator: "\n"), at = "screen \(key) at \(w)×\(h)"
                #expect(shown.first?.contains("1 Topology") == true && shown.first?.contains("6 BARs") == true, "\(at): header\n\(text)")
                #expect(shown.count >= h && shown[h - 1].contains("p2ptop"), "\(at): status line\n\(text)")
                for corner in ["┌┌", "┐┐", "└└", "┘┘"] { #expect(!text.contains(corner), "\(at): doubled corner\n\(text)") }
                // A letter or digit against the right border is text that ran out of room.
                for l in shown.dropFirst(2).dropLast(2) {
                    let cells = Array(l)
                    guard cells.count >= 3, cells.last == "│" else { continue }
                    let before = cells[cells.count - 2], twoBefore = cells[cells.count - 3]
                    #expect(!(before.isLetter || before.isNumber) || !(twoBefore.isLetter || twoBefore.isNumber), "\(at): cut at the border: \(l)")
                }
                if w == 160 && ["1", "2", "3"].contains(key) {
                    let used = shown.dropFirst(2).dropLast(2).filter { l in
                        Array(l).dropFirst(w / 2).dropLast().contains { !$0.isWhitespace && $0 != "│" }
                    }.count
                    #expect(used >= 10, "\(at): the right half is blank (\(used) rows in use)\n\(text)")
                }
            }
        }
        try s.keys("q")
        #expect(try s.exitStatus() == 0)
    }

    @Test func sigtermRestoresAndExits143() throws {
        let s = try TmuxSession(["--fabric", "workstation"])
        defer { s.kill() }
        #expect(try s.waitFor("p2ptop tree --fabric workstation"))
        // The pane runs sh → p2ptop: signal the child of the pane's shell.
        let shell = try s.tmux(["display", "-p", "-t", "t", "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let children = (try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)) ?? ""
        let pid = children.split(separator: " ").first.map(String.init) ?? shell
        Glibc.kill(pid_t(pid) ?? 0, SIGTERM)
        let status = try s.exitStatus()
        #expect(status == 143, "status \(String(describing: status)), pid '\(pid)', screen: \((try? s.screen()) ?? "")")
        #expect(try s.terminalRestored(), "terminal modes after SIGTERM: \((try? s.screen()) ?? "")")
    }

    @Test func badThemeIsAnErrorBeforeTheScreenChanges() throws {
        let r = try CLI.run(["--fabric", "workstation", "--theme", CLI.temp("[colors]\nglow = \"red\"\n")])
        #expect(r.status == 2 && r.stderr.contains(":2: key 'glow': unknown colour key"))
    }
}

@Suite(.enabled(if: TmuxSession.available, "tmux not installed"), .serialized)
struct TmuxLiveTests {
    /// The acceptance story: t, Enter → the Transfers screen shows a rate in GB/s and pins held
    /// while it runs, and no pins once it has ended (here: cancelled with c).
    @Test func transferFromTheKeyboard() throws {
        let s = try TmuxSession(["--fabric", "icelake-gpu-switch"])
        defer { s.kill() }
        #expect(try s.waitFor("p2ptop tree --fabric icelake-gpu-switch"))
        try s.keys("t")
        #expect(try s.waitFor("Start a transfer"))
        try s.keys("Enter")
        #expect(try s.waitFor("GB/s"))
        // A row like "nvme0 → nvme1 16G odirect  ██░░░░░░░░ 12%  7.73    1024   running": the
        // rate in the GB/s column, the pins held in PINS.
        let running = try s.waitForMatch(#"[0-9]+\.[0-9]{2} +[1-9][0-9]* +running"#)
        #expect(running, "pins while running: \((try? s.screen()) ?? "")")
        try s.keys("c")
        #expect(try s.waitFor("ECANCELED"))
        #expect(try s.waitFor("0 pins held now"), "after: \((try? s.screen()) ?? "")")
        try s.keys("q")
        #expect(try s.exitStatus() == 0)
    }
}

extension TmuxSession {
    func waitForMatch(_ pattern: String, seconds: Double = 20) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try screen().range(of: pattern, options: .regularExpression) != nil { return true }
            usleep(20_000)
        }
        return false
    }
}

/// Another process's O_DIRECT read shows its rate on that device's row of the tree: the block
/// counters are attached to their PCI function through its OS devices.
@Suite(.serialized) struct LiveRateTests {
    static let build = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build").path

    /// The disk under `.build` (a file there read with O_DIRECT reaches it) and the PCI function
    /// it sits on, as p2ptop lists them.
    static var disk: (bdf: String, block: String)? {
        var st = stat()
        guard stat(build, &st) == 0 else { return nil }
        let node = "/sys/dev/block/\(major(st.st_dev)):\(minor(st.st_dev))"
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: node) else { return nil }
        var parts = target.split(separator: "/").map(String.init)
        // A partition's parent folder is its disk.
        if FileManager.default.fileExists(atPath: node + "/partition") { parts.removeLast() }
        guard let block = parts.last,
              let r = try? CLI.run(["list", "--json"]),
              let doc = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
              let devices = doc["devices"] as? [[String: Any]] else { return nil }
        for d in devices {
            for os in ((d["sysfs"] as? [String: Any])?["os_devices"] as? [[String: Any]]) ?? [] where os["name"] as? String == block {
                return (d["bdf"] as! String, block)
            }
        }
        return nil
    }

    static func major(_ d: dev_t) -> UInt32 { UInt32((d >> 8) & 0xfff) | UInt32((d >> 32) & ~0xfff) }
    static func minor(_ d: dev_t) -> UInt32 { UInt32(d & 0xff) | UInt32((d >> 12) & ~0xff) }

    @Test(.enabled(if: TmuxSession.available && LiveRateTests.disk != nil, "tmux, or a PCI disk under .build, missing"))
    func anotherProcessesReadShowsOnItsRow() throws {
        let (bdf, _) = LiveRateTests.disk!
        // 256 MiB of real data (not a sparse file: its holes would need no I/O), read back with
        // O_DIRECT by dd, again and again, while the explorer watches.
        let file = Self.build + "/live-rate-\(UUID().uuidString.prefix(8)).bin"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let fill = try CLI.run(["-c", "head -c 268435456 /dev/urandom > '\(file)' && sync"], shell: true)
        #expect(fill.status == 0)
        let s = try TmuxSession([], width: 160, height: 40)
        defer { s.kill() }
        #expect(try s.waitFor("Topology"), "\((try? s.screen()) ?? "")")
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/bin/sh")
        reader.arguments = ["-c", "for i in $(seq 40); do dd if='\(file)' of=/dev/null bs=1M iflag=direct 2>/dev/null || exit 1; done"]
        try reader.run()
        defer { if reader.isRunning { reader.terminate() } }
        // Within two refreshes (1 s each) after two telemetry samples: the row shows a read rate
        // of at least 20 MB/s — dd's, not the background's.
        let short = String(bdf.dropFirst(5))
        var best = 0.0, row = ""
        let deadline = Date().addingTimeInterval(8)
        while Date() < deadline && best < 20e6 {
            Thread.sleep(forTimeInterval: 0.5)
            guard let line = try s.screen().split(separator: "\n").first(where: { $0.contains(short) && $0.contains("⇅ r") }) else { continue }
            row = String(line)
            // "⇅ r 412M/s w 0B/s": the number and its unit.
            let after = row.components(separatedBy: "⇅ r ").last ?? ""
            let token = after.split(separator: " ").first.map(String.init) ?? ""
            let units: [String: Double] = ["B/s": 1, "K/s": 1e3, "M/s": 1e6, "G/s": 1e9]
            for (u, m) in units where token.hasSuffix(u) { best = max(best, (Double(token.dropLast(u.count)) ?? 0) * m) }
        }
        #expect(best >= 20e6, "row \(short): '\(row)'; screen: \((try? s.screen()) ?? "")")
    }
}

/// The presenter in a real terminal at a projector's 80×24 and a laptop's 120×40: the opening
/// card, steps one per key with the counter matching the list, back, restart, quit restoring
/// the terminal; a recording made while presenting replays without running anything.
@Suite(.enabled(if: TmuxSession.available, "tmux not installed"), .serialized)
struct DemoTmuxTests {
    @Test(arguments: [(80, 24), (120, 40)])
    func stepsBackRestartAndQuit(_ size: (Int, Int)) throws {
        let rec = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-demo-\(UUID().uuidString.prefix(8)).json").path
        defer { try? FileManager.default.removeItem(atPath: rec) }
        let s = try TmuxSession(["demo", "--record", rec], width: size.0, height: size.1)
        defer { s.kill() }
        #expect(try s.waitFor("What you will see"), "\((try? s.screen()) ?? "")")
        #expect(try s.screen().contains("22 steps"))
        try s.keys("Space"); try s.keys("Space"); try s.keys("Space")
        #expect(try s.waitFor("step 3/22"), "\((try? s.screen()) ?? "")")
        let three = try s.screen()
        #expect(three.contains("The machine") && three.contains("3 ✓ unmap bar") && three.contains("Steps — step 3/22"), "\(three)")
        try s.keys("Left")
        #expect(try s.waitFor("step 2/22"))
        #expect(try s.waitFor("EFAULT"), "step 2 is the refused pin: \((try? s.screen()) ?? "")")
        try s.keys("r")
        #expect(try s.waitFor("What you will see"))
        try s.keys("Right")
        #expect(try s.waitFor("step 1/22"))
        // Every step of the story: the counter and the list's row for that step agree.
        for k in 2...22 {
            try s.keys("Space")
            #expect(try s.waitFor("step \(k)/22"), "\((try? s.screen()) ?? "")")
            #expect(try s.waitForMatch(#"\b\#(k) ✓ "#, seconds: 5), "row \(k): \((try? s.screen()) ?? "")")
        }
        try s.keys("Space")
        #expect(try s.waitFor("every one as the model predicted"), "\((try? s.screen()) ?? "")")
        try s.keys("q")
        #expect(try s.exitStatus() == 0)
        #expect(try s.terminalRestored())
        // The recording holds every frame shown: card, 1, 2, 3, back to 2, card, 1…22, the end.
        let r = try CLI.run(["demo", "--replay", rec])
        #expect(r.status == 0 && r.stdout.contains("frame 7/29 (step 1/22)") && r.stdout.contains("frame 4/29 (step 3/22)"), "\(r.stdout.prefix(400)) \(r.stderr)")
        let replay = try TmuxSession(["demo", "--replay", rec], width: size.0, height: size.1)
        defer { replay.kill() }
        #expect(try replay.waitFor("frame 1/29"))
        try replay.keys("Space"); try replay.keys("Space")
        #expect(try replay.waitFor("frame 3/29") && replay.screen().contains("EFAULT"))
        try replay.keys("q")
        #expect(try replay.exitStatus() == 0)
    }
}
