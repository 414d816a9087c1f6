#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import LinuxFiles

/// Running another program (make, tar, QEMU): posix_spawn with its output to a file or
/// inherited, a wait with a deadline, and a kill that always ends it.
public struct Subprocess {
    public let pid: pid_t
    public let command: String

    public enum Output: Sendable { case inherit, null, file(String) }

    /// Starts `argv` (looked up on PATH). `group`: put the child in a process group of its
    /// own, so a terminal's Ctrl-C reaches p2ptop alone and p2ptop decides what happens.
    public static func spawn(_ argv: [String], output: Output = .inherit, input: String? = nil,
                             group: Bool = false) throws(LabError) -> Subprocess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let input { posix_spawn_file_actions_addopen(&actions, 0, input, O_RDONLY, 0) }
        switch output {
        case .inherit: break
        case .null:
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        case .file(let path):
            // Appended (a build's logs), never through a link planted at the name.
            posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if group { flags |= Int32(POSIX_SPAWN_SETPGROUP); posix_spawnattr_setpgroup(&attr, 0) }
        posix_spawnattr_setflags(&attr, Int16(flags))
        var none = sigset_t(); sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        var defaults = sigset_t(); sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        var cargs = argv.map { strdup($0) }
        cargs.append(nil)
        defer { for p in cargs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attr, cargs, environ)
        guard rc == 0 else {
            throw LabError("cannot start \(argv[0]): \(String(cString: strerror(rc)))" + (rc == ENOENT ? " (not installed? see p2ptop lab kernel --help)" : ""))
        }
        return Subprocess(pid: pid, command: argv[0])
    }

    /// Runs to the end; the exit status (128+N for a signal). With a `timeout`, a program
    /// still running then is terminated and the run fails with a line saying so; so it is when
    /// p2ptop itself gets SIGINT, SIGTERM or SIGHUP meanwhile — the child dies with it, and the
    /// caller's scratch files are removed on the way out.
    public static func run(_ argv: [String], output: Output = .null, timeout: Double? = nil) throws(LabError) -> Int32 {
        guard let timeout else { return try spawn(argv, output: output).wait() }
        LabSignals.install()
        defer { LabSignals.restore() }
        let child = try spawn(argv, output: output)
        let end = Monotonic.seconds() + timeout
        while Monotonic.seconds() < end {
            if let s = child.poll() { return s }
            if LabSignals.interrupted {
                child.terminate(grace: 1)
                throw LabError("interrupted: \(argv[0]) was stopped with p2ptop")
            }
            usleep(10_000)
        }
        child.terminate(grace: 1)
        throw LabError("\(argv[0]) did not finish within \(Int(timeout)) s and was stopped")
    }

    /// The exit status once it ends (128+N when a signal ended it).
    public func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return Subprocess.decode(status)
    }

    /// The exit status if it has ended, else nil (never blocks).
    public func poll() -> Int32? {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        return r == pid ? Subprocess.decode(status) : nil
    }

    static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; returns the exit status.
    @discardableResult
    public func terminate(grace: Double = 3) -> Int32 {
        kill(pid, SIGTERM)
        let end = Monotonic.seconds() + grace
        while Monotonic.seconds() < end {
            if let s = poll() { return s }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        return wait()
    }
}

/// A lab failure that is nobody's input error: a missing tool, a build that broke, a guest
/// that hung. One line; the command turns it into exit 2.
public struct LabError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
