import PCITopology
import LinuxFiles

extension GuestInit {
    /// `lab run`'s guest: the command (the explorer when none; `p2ptop` is this binary,
    /// wherever it lives), on the user's terminal when there is one, with a PATH that finds
    /// p2ptop, NO_COLOR passed on, and the variant and its throttled drives named for the
    /// explorer (which acts on the guest's kernel: the guest is disposable).
    public static func session(command: [String], binary: String, variant: LabVariant, terminal: (rows: Int, columns: Int, term: String)?,
                               noColor: String?) -> GuestInit {
        var argv = command.first == "--" ? Array(command.dropFirst()) : command
        if argv.isEmpty { argv = [binary] }
        if argv.first == "p2ptop" { argv[0] = binary }
        let console: Console = terminal.map { .interactive(rows: $0.rows, columns: $0.columns, term: $0.term) } ?? .batch
        let dir = String(binary[..<(binary.lastIndex(of: "/") ?? binary.startIndex)])
        var env: [(String, String)] = [("PATH", dir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")]
        if let noColor { env.append(("NO_COLOR", noColor)) }
        env.append(("P2PTOP_LAB_GUEST", variant.title))
        env.append(("P2PTOP_LAB_SLOW", variant.fabric.slowDrives.joined(separator: ",")))
        return GuestInit(command: argv, console: console, environment: env)
    }
}

extension LabCheck {
    /// Every variant on each kernel in turn: the boots of all of them, with each kernel's time
    /// said when there are several.
    public static func run(kernels: [LabKernel], binary: String, variants: [LabVariant], timeout: Double, keep: Bool,
                           progress: (String) -> Void) throws(LabError) -> [LabRun] {
        var runs: [LabRun] = []
        for kernel in kernels {
            var check = LabCheck(kernel: kernel, binary: binary)
            check.timeout = timeout
            let t0 = Monotonic.seconds()
            runs += try check.run(variants, keep: keep) { progress("Linux \(kernel.version): \($0)") }
            if kernels.count > 1 { progress("Linux \(kernel.version): \(Int(Monotonic.seconds() - t0)) s") }
        }
        return runs
    }
}
