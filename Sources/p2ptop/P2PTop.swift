import ArgumentParser
import TerminalUI
import PCISources

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The command tree. `run()`s are adapters: load a source, call the library, render.
struct P2PTop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "p2ptop",
        abstract: "See and drive PCIe peer-to-peer DMA: topology, BARs, P2P verdicts, pins and transfers.",
        discussion: """
            Sources (every command that reads a machine): the live machine by default, or --dump FILE (lspci -x output), \
            --sysfs-root DIR (a captured root containing sys/), --snapshot FILE (p2ptop snapshot), \
            --hwloc FILE (lstopo --of xml), --fabric NAME (a demo machine).
            A bare `p2ptop` starts the terminal UI (press ? for keys).

            Examples:
              p2ptop                             # the explorer on this machine
              p2ptop tree --fabric icelake-gpu-switch
              p2ptop doctor gpu0 nic0
            """,
        version: "0.3.0",
        subcommands: [ExploreCommand.self, TreeCommand.self, ListCommand.self, ShowCommand.self, MatrixCommand.self, PathCommand.self, ProviderCommand.self, DoctorCommand.self, FabricsCommand.self, TransferCommand.self, ScenarioCommand.self, WatchCommand.self, DemoCommand.self, BarCommand.self, BarsCommand.self, RDMACommand.self, SnapshotCommand.self, BenchCommand.self, DiffCommand.self, ExportCommand.self, ExporterCommand.self, LabCommand.self, SchemaCommand.self, InstallCommand.self],
        defaultSubcommand: ExploreCommand.self)
}

/// Exit statuses: 0 success, 1 an operation the kernel would refuse, 2 usage or input error.
enum P2PExit {
    static let ok: Int32 = 0
    static let refused: Int32 = 1
    static let usage: Int32 = 2
}

@main
enum Main {
    static func main() {
        setvbuf(stdout, nil, _IOFBF, 1 << 16)
        let args = CommandLineHelp.repaired(Array(CommandLine.arguments.dropFirst()))
        if let unknown = CommandLineHelp.unknownCommand(args) { fail("p2ptop: " + unknown) }
        do {
            var command = try P2PTop.parseAsRoot(args)
            try command.run()
            fflush(stdout)
        } catch let error as SourceError {
            fail("p2ptop: \(error)")
        } catch let error as CommandError {
            fail("p2ptop: \(error.message)", code: error.code)
        } catch {
            let code = P2PTop.exitCode(for: error)
            if code == .success {
                P2PTop.exit(withError: error)  // --help, --version
            }
            // A usage error is one line: what was wrong (what it echoes is capped), and where the usage is.
            // An exit status alone (refused: the answer is already printed) says nothing more.
            guard let message = P2PTop.message(for: error).split(separator: "\n").first.map(String.init), !message.isEmpty else {
                fflush(stdout)
                exit(code == .validationFailure ? P2PExit.usage : code.rawValue)
            }
            fail("p2ptop: " + CommandLineHelp.withSuggestion(message, args) + (code == .validationFailure ? " (see p2ptop help)" : ""),
                 code: code == .validationFailure ? P2PExit.usage : code.rawValue)
        }
    }

    static func fail(_ message: String, code: Int32 = P2PExit.usage) -> Never {
        fflush(stdout)
        fputs(oneLine(message) + "\n", stderr)
        exit(code)
    }

    /// A diagnostic is one line whatever it echoes: control characters (a newline in a file
    /// name, a NUL, ESC) and bidi marks shown as escapes (`TerminalText`), at most 2000 characters.
    static func oneLine(_ message: String) -> String {
        let capped = message.count > 2000 ? String(message.prefix(2000)) + "…" : message
        return TerminalText.visible(capped)
    }
}

/// An error a command reports itself: one line on stderr, then its exit status.
struct CommandError: Error {
    var message: String
    var code: Int32 = P2PExit.usage
}
