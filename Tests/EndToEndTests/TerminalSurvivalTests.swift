import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The terminal survives everything a user (or a cat on the keyboard) can throw at it: a storm
/// of resizes and keys while a transfer runs, every signal, a 1×1 terminal. Each ends with the
/// right exit status and the terminal back in canonical mode with echo.
@Suite(.enabled(if: TmuxSession.available, "tmux not installed"), .serialized)
struct TerminalSurvivalTests {
    /// A deterministic stream of keys: names tmux knows, and raw escape sequences (SGR mouse
    /// reports, bracketed paste, modified arrows, stray ESC [).
    static func keys(_ n: Int, seed: UInt64) -> [[String]] {
        var x = seed
        func next() -> Int { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return Int(x % 1_000_003) }
        let named = ["Up", "Down", "Left", "Right", "PageUp", "PageDown", "Home", "End", "Tab", "BTab", "Enter", "Escape", "BSpace",
                     "DC", "IC", "Space"] + (1...12).map { "F\($0)" } + ["1", "2", "3", "4", "5", "/", "f", "?", "t", "a", "m", "+", "-", "c", "x", "z", "é"]
        let raw = ["\u{1b}[<0;10;5M", "\u{1b}[<0;10;5m", "\u{1b}[<64;3;3M", "\u{1b}[200~pasted text\u{1b}[201~", "\u{1b}[1;5A",
                   "\u{1b}[", "\u{1b}O", "\u{1b}[99~", "\u{1b}[M !!"]
        return (0..<n).map { _ in
            let k = next()
            return k % 5 == 0 ? ["-l", raw[k % raw.count]] : [named[k % named.count]]
        }
    }

    func pid(of s: TmuxSession) throws -> pid_t {
        let shell = try s.tmux(["display", "-p", "-t", "t", "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let children = (try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)) ?? ""
        return pid_t(children.split(separator: " ").first.map(String.init) ?? shell) ?? 0
    }

    func startTransfer(_ s: TmuxSession) throws {
        #expect(try s.waitFor("p2ptop tree --fabric icelake-gpu-switch", seconds: 30))
        try s.keys("t")
        #expect(try s.waitFor("Start a transfer", seconds: 20))
        try s.keys("Enter")
        #expect(try s.waitFor("GB/s", seconds: 30))
    }

    @Test func resizeAndKeyStormDuringATransfer() throws {
        let s = try TmuxSession(["--fabric", "icelake-gpu-switch"])
        defer { s.kill() }
        try startTransfer(s)
        var x: UInt64 = 0x1234_5678
        for _ in 0..<50 {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            try s.tmux(["resize-window", "-t", "t", "-x", "\(10 + Int(x % 241))", "-y", "\(5 + Int((x >> 20) % 76))"])
        }
        for k in Self.keys(500, seed: 42) { try s.tmux(["send-keys", "-t", "t"] + k) }
        try s.tmux(["resize-window", "-t", "t", "-x", "120", "-y", "40"])
        let p = try pid(of: s)
        #expect(p > 0 && Glibc.kill(p, 0) == 0, "p2ptop still running after the storm: \((try? s.screen()) ?? "")")
        for _ in 0..<4 { try s.keys("Escape") }
        try s.keys("q")
        let status = try s.exitStatus(seconds: 30)
        #expect(status == 0, "after the storm, q: \(String(describing: status)) \((try? s.screen()) ?? "")")
        #expect(try s.terminalRestored())
    }

    /// SIGINT, SIGHUP and SIGTERM mid-transfer: 128 + the signal, terminal restored; SIGTSTP
    /// then SIGCONT: the explorer carries on and quits normally.
    @Test(arguments: [(SIGINT, 130), (SIGHUP, 129), (SIGTERM, 143), (SIGTSTP, 0)])
    func signalsDuringATransfer(_ signal: Int32, _ expected: Int) throws {
        let s = try TmuxSession(["--fabric", "icelake-gpu-switch"])
        defer { s.kill() }
        try startTransfer(s)
        let p = try pid(of: s)
        Glibc.kill(p, signal)
        if signal == SIGTSTP {
            usleep(300_000)
            Glibc.kill(p, SIGCONT)
            usleep(300_000)
            try s.keys("q")
        }
        let status = try s.exitStatus(seconds: 30)
        #expect(status == expected, "signal \(signal): \(String(describing: status)) \((try? s.screen()) ?? "")")
        #expect(try s.terminalRestored(), "signal \(signal)")
    }

    @Test func oneByOneTerminal() throws {
        let s = try TmuxSession(["--fabric", "icelake-gpu-switch"], width: 1, height: 1)
        defer { s.kill() }
        usleep(1_500_000)
        try s.keys("q")
        try s.tmux(["resize-window", "-t", "t", "-x", "80", "-y", "24"])
        let status = try s.exitStatus(seconds: 30)
        #expect(status == 0, "1×1: \(String(describing: status)) \((try? s.screen()) ?? "")")
        #expect(try s.terminalRestored())
    }
}
