import ArgumentParser
import Lab
import LinuxFiles
import PCISources

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `p2ptop install`: the shell completions (bash, zsh, fish) and the man page, generated from
/// the command definitions and written where each shell and man look for them.
struct InstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install", abstract: "Install p2ptop, its shell completions (bash, zsh, fish) and the p2ptop(1) man page, generated from the commands.",
        discussion: "Examples:\n  p2ptop install                      # under /usr/local\n  p2ptop install --prefix ~/.local\n  p2ptop install --print man | man -l -")

    @Option(help: ArgumentHelp("Install under this prefix.", valueName: "dir"), completion: Completions.directory)
    var prefix: String = "/usr/local"

    @Option(help: ArgumentHelp("Print one of them instead: man, bash, zsh or fish.", valueName: "what"))
    var print: String?

    @Flag(name: .customLong("no-binary"), help: "Only the completions and the man page (the binary is installed some other way).")
    var noBinary = false

    /// What goes where, relative to the prefix.
    static let targets: [(what: String, path: String)] = [
        ("bash", "share/bash-completion/completions/p2ptop"),
        ("zsh", "share/zsh/site-functions/_p2ptop"),
        ("fish", "share/fish/vendor_completions.d/p2ptop.fish"),
        ("man", "share/man/man1/p2ptop.1"),
    ]

    func text(_ what: String) throws -> String {
        switch what {
        case "bash": return P2PTop.completionScript(for: .bash)
        case "zsh": return P2PTop.completionScript(for: .zsh)
        case "fish": return P2PTop.completionScript(for: .fish)
        case "man": return try Self.manPage()
        default: throw ValidationError("--print \(what): expected man, bash, zsh or fish")
        }
    }

    /// The man page, from this binary's own `--experimental-dump-help`.
    static func manPage() throws -> String {
        guard case .success(let dir) = FileIO.makePrivateDirectory("p2ptop-install") else {
            throw CommandError(message: "install: cannot make a private scratch directory under $TMPDIR or /tmp")
        }
        defer { FileIO.removeTree(dir) }
        let file = dir + "/help.json"
        guard (try? Subprocess.run(["/proc/self/exe", "--experimental-dump-help"], output: .file(file), timeout: 30)) == 0,
              case .success(let bytes) = FileIO.read(file), let help = try? JSON.parse(bytes) else {
            throw CommandError(message: "install: cannot read this binary's command definitions (--experimental-dump-help)")
        }
        var t = time(nil)
        var tm = tm()
        gmtime_r(&t, &tm)
        let date = String(format4(Int(tm.tm_year) + 1900)) + "-" + two(Int(tm.tm_mon) + 1) + "-" + two(Int(tm.tm_mday))
        return ManPage.render(help, date: date)
    }

    static func format4(_ n: Int) -> String { String(n) }
    static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    func run() throws {
        // A prefix is a place: "" would install into /bin and /share, a relative one wherever
        // the command happens to run.
        guard prefix.hasPrefix("/") else {
            throw ValidationError("--prefix '\(prefix)': expected an absolute directory, such as /usr/local or ~/.local")
        }
        if let print {
            emit(try text(print), .exact)   // the man page and the scripts are not text to fit
            return
        }
        // The binary itself first, so that the completions complete a command on the PATH.
        if !noBinary {
            guard case .success(let bytes) = FileIO.read("/proc/self/exe", limit: 1 << 30) else { throw CommandError(message: "this binary cannot be read") }
            try install(bytes, at: prefix + "/bin/p2ptop", mode: 0o755, what: "the binary")
        }
        for (what, rel) in Self.targets {
            try install(Array(try text(what).utf8), at: prefix + "/" + rel, mode: 0o644, what: what == "man" ? "the man page" : what + " completion")
        }
        for line in InstallCommand.whatLoadsThem(prefix: prefix, home: getenv("HOME").map { String(cString: $0) }, exists: FileIO.exists) { diagnose("p2ptop: note: \(line)\n") }
    }

    /// What each shell needs before it loads the files just written: said where it is missing
    /// (bash-completion not installed, a prefix no shell searches), silent where it will work.
    static func whatLoadsThem(prefix: String, home: String?, exists: (String) -> Bool) -> [String] {
        var notes: [String] = []
        let searched = ["/usr", "/usr/local"] + (home.map { [$0 + "/.local"] } ?? [])
        let standard = searched.contains(prefix)
        let bash = prefix + "/share/bash-completion/completions/p2ptop"
        if !exists("/usr/share/bash-completion/bash_completion") {
            notes.append("bash: nothing loads \(bash): bash-completion is not installed (apt-get install bash-completion), or add 'source \(bash)' to ~/.bashrc")
        } else if !standard {
            notes.append("bash: bash-completion does not look under \(prefix): add 'source \(bash)' to ~/.bashrc")
        }
        if !(prefix == "/usr" || prefix == "/usr/local") && exists("/usr/bin/zsh") {
            notes.append("zsh: add 'fpath=(\(prefix)/share/zsh/site-functions $fpath)' before compinit in ~/.zshrc")
        }
        if !standard && exists("/usr/bin/fish") {
            notes.append("fish: add 'source \(prefix)/share/fish/vendor_completions.d/p2ptop.fish' to ~/.config/fish/config.fish")
        }
        if !(prefix == "/usr" || prefix == "/usr/local") {
            notes.append("man: add \(prefix)/share/man to MANPATH (man p2ptop finds it then)")
        }
        return notes
    }

    /// One file written safely in place, its directory made first.
    func install(_ bytes: [UInt8], at path: String, mode: mode_t, what: String) throws {
        let dir = String(path[..<path.lastIndex(of: "/")!])
        guard (try? Subprocess.run(["/bin/mkdir", "-p", dir])) == 0 else { throw CommandError(message: "\(dir): cannot create") }
        if let e = FileIO.writeAtomically(path, bytes, mode: mode) { throw CommandError(message: "\(path): cannot write: \(e)") }
        diagnose("p2ptop: installed \(what): \(path)\n")
    }
}
