import LinuxFiles
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// One boot of a lab variant under QEMU: a run directory (init script, NVMe disks with known
/// content, the results share), the QEMU command line, and a wait that always ends with the
/// guest powered off — by itself, or killed on Ctrl-C, a timeout or a panic.
public struct LabMachine {
    public var variant: LabVariant
    public var kernel: LabKernel
    public var accel: String
    public var memoryMiB = 1024
    public var cpus = 2

    public init(variant: LabVariant, kernel: LabKernel, accel: String = "tcg") {
        self.variant = variant; self.kernel = kernel; self.accel = accel
    }

    public struct Outcome: Sendable {
        /// The guest command's exit status (nil: it never finished).
        public var status: Int32?
        public var seconds: Double
        /// What ended the guest when it did not power off by itself.
        public var failure: String?
        /// The results share on the host: stdout, stderr, status, dmesg, and the command's files.
        public var results: String
        public var console: String
    }

    /// Bytes of the known pattern on each drive: xorshift64 seeded by the drive's label, so a
    /// transfer can be verified against it and never passes on zeros.
    public static func pattern(label: String, count: Int) -> [UInt8] {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for b in label.utf8 { seed = (seed ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { raw in
            var i = 0
            while i + 8 <= count {
                seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
                raw.storeBytes(of: seed, toByteOffset: i, as: UInt64.self)
                i += 8
            }
        }
        return out
    }

    /// `/var/tmp/p2ptop-lab-XXXXXX` (mkdtemp: private, mode 0700, no name to guess): outside
    /// every path the guest mounts over. QEMU runs as the same user and the guest as root, so
    /// nobody else needs to reach it.
    static func makeRunDirectory() throws(LabError) -> String {
        switch FileIO.makePrivateDirectory("p2ptop-lab", in: "/var/tmp") {
        case .failure(let e): throw LabError("cannot create a run directory in /var/tmp: \(e)")
        case .success(let dir):
            guard mkdir(dir + "/results", 0o700) == 0 else { throw LabError("cannot create \(dir)/results: \(String(cString: strerror(errno)))") }
            return dir
        }
    }

    /// Writes each drive's backing file: the pattern, then zeros to its size.
    static func writeDisks(_ fabric: LabFabric, in dir: String) throws(LabError) {
        for n in fabric.drives {
            let path = dir + "/" + n.label + ".img"
            let fd: Int32
            switch FileIO.openDescriptor(path, .createNew(mode: 0o600)) {
            case .success(let d): fd = d
            case .failure(let e): throw LabError("cannot create \(e)")
            }
            defer { close(fd) }
            let bytes = pattern(label: n.label, count: n.patternMiB << 20)
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == bytes.count, ftruncate(fd, off_t(n.sizeMiB) << 20) == 0 else { throw LabError("cannot write \(path)") }
        }
    }

    /// The whole QEMU command line.
    public func arguments(runDirectory dir: String, interactive: Bool) -> [String] {
        let append = ["console=ttyS0", "root=/dev/root", "rootfstype=9p", "rootflags=trans=virtio,version=9p2000.L,cache=loose",
                      "ro", "init=\(dir)/init.sh", "panic=-1", "quiet"] + (interactive ? ["loglevel=1"] : []) + variant.kernelArguments
        var a = ["qemu-system-x86_64", "-machine", "q35", "-accel", accel == "tcg" ? "tcg,thread=multi" : accel,
                 "-cpu", variant.cpu.qemuModel, "-smp", "\(cpus)", "-m", "\(memoryMiB)",
                 "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                 "-kernel", kernel.image, "-append", append.joined(separator: " ")]
        if interactive {
            a += ["-chardev", "stdio,id=console,signal=on", "-serial", "chardev:console"]
        } else {
            a += ["-serial", "file:\(dir)/console.log", "-monitor", "none"]
        }
        a += ["-fsdev", "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap",
              "-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=/dev/root,bus=pcie.0,addr=0x7",
              "-fsdev", "local,id=results,path=\(dir)/results,security_model=none,multidevs=remap",
              "-device", "virtio-9p-pci,fsdev=results,mount_tag=\(GuestInit.resultsTag),bus=pcie.0,addr=0x8"]
        a += QEMUFabric.arguments(variant.fabric, iommu: variant.iommu) { dir + "/" + $0 + ".img" }
        return a
    }

    /// Boots the variant, runs `initScript` as PID 1 and waits for the power-off, at most
    /// `timeout` seconds. `interactive`: the serial console is this terminal (Ctrl-C ends QEMU,
    /// and the terminal is restored whatever happens).
    public func boot(_ initScript: GuestInit, timeout: Double) throws(LabError) -> Outcome {
        let dir = try Self.makeRunDirectory()
        try Self.writeDisks(variant.fabric, in: dir)
        guard writeText(dir + "/init.sh", initScript.script), chmod(dir + "/init.sh", 0o755) == 0 else {
            throw LabError("cannot write \(dir)/init.sh")
        }
        let interactive = initScript.console != .batch
        let argv = arguments(runDirectory: dir, interactive: interactive)
        writeText(dir + "/qemu.args", argv.map(GuestInit.quote).joined(separator: " ") + "\n")
        let saved = interactive ? TerminalState.save() : nil
        defer { saved?.restore() }
        LabSignals.install()
        defer { LabSignals.restore() }
        let start = Monotonic.seconds()
        let qemu = try Subprocess.spawn(argv, output: interactive ? .inherit : .file(dir + "/qemu.log"),
                                        input: interactive ? nil : "/dev/null", group: !interactive)
        var failure: String?
        var exit: Int32?
        while exit == nil {
            exit = qemu.poll()
            if exit != nil { break }
            if LabSignals.interrupted {
                qemu.terminate(grace: 2)
                failure = "interrupted: the guest was powered off"
                break
            }
            if Monotonic.seconds() - start > timeout {
                qemu.terminate(grace: 2)
                failure = "the guest did not power off within \(Int(timeout)) s (hung?); QEMU was stopped"
                break
            }
            usleep(20_000)
        }
        let seconds = Monotonic.seconds() - start
        let console = readText(dir + "/console.log") ?? ""
        // The serial console ends lines with CR LF (one Character in Swift): split on both.
        if let panic = console.split(whereSeparator: \.isNewline).first(where: { $0.contains("Kernel panic") }) {
            failure = "the guest kernel panicked: " + panic.split(separator: "]", maxSplits: 1).last.map { $0.trimmingCharacters(in: " ") }!
        }
        let statusText = readText(dir + "/results/status")?.filter(\.isNumber)
        let status = statusText.flatMap { Int32($0) }
        if failure == nil, status == nil {
            let qemuLog = (readText(dir + "/qemu.log") ?? "").split(separator: "\n").filter { !$0.contains("warning") }.last.map(String.init)
            failure = "the guest powered off without running the command" + (qemuLog.map { " (QEMU: \($0))" } ?? "")
                + (exit.map { $0 != 0 ? " (QEMU exit \($0))" : "" } ?? "")
        }
        return Outcome(status: status, seconds: seconds, failure: failure, results: dir + "/results", console: console)
    }

    /// Removes a run directory (its disks are 64 MiB each).
    public static func discard(_ outcome: Outcome) {
        let dir = String(outcome.results.dropLast("/results".count))
        guard dir.hasPrefix("/var/tmp/p2ptop-lab-") else { return }
        FileIO.removeTree(dir)
    }
}

/// Ctrl-C, SIGTERM and SIGHUP while a guest runs: noted, so the guest is stopped and the
/// terminal restored before p2ptop exits.
enum LabSignals {
    nonisolated(unsafe) static var flag: sig_atomic_t = 0
    nonisolated(unsafe) static var previous: [Int32: sigaction] = [:]
    /// Nested installs (a subprocess waited for inside a boot) share the outermost handlers.
    nonisolated(unsafe) static var depth = 0

    static var interrupted: Bool { flag != 0 }

    static func install() {
        depth += 1
        guard depth == 1 else { return }
        flag = 0
        for s in [SIGINT, SIGTERM, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in LabSignals.flag = 1 }
            sigemptyset(&action.sa_mask)
            var old = sigaction()
            sigaction(s, &action, &old)
            previous[s] = old
        }
    }

    static func restore() {
        depth = max(0, depth - 1)
        guard depth == 0 else { return }
        for (s, old) in previous { var o = old; sigaction(s, &o, nil) }
        previous = [:]
    }
}

/// The terminal's settings before QEMU takes it over.
struct TerminalState {
    var attributes: termios

    static func save() -> TerminalState? {
        guard isatty(0) != 0 else { return nil }
        var t = termios()
        guard tcgetattr(0, &t) == 0 else { return nil }
        return TerminalState(attributes: t)
    }

    /// The modes back, and whatever a guest program killed mid-screen left on: the alternate
    /// screen, mouse reporting, a hidden cursor, attributes (harmless when already off).
    func restore() {
        var t = attributes
        tcsetattr(0, TCSAFLUSH, &t)
        let reset = "\u{1b}[?1000l\u{1b}[?1002l\u{1b}[?1006l\u{1b}[0m\u{1b}[?25h\u{1b}[?1049l"
        _ = reset.withCString { write(1, $0, strlen($0)) }
    }
}

/// The user's terminal size (rows, columns), or 24×80.
public func terminalSize() -> (rows: Int, columns: Int) {
    var w = winsize()
    if ioctl(1, UInt(TIOCGWINSZ), &w) == 0, w.ws_row > 0, w.ws_col > 0 { return (Int(w.ws_row), Int(w.ws_col)) }
    return (24, 80)
}
