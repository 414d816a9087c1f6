import ArgumentParser
import LinuxFiles
import P2PDMA

/// `p2ptop export --nccl`: the machine shown (any source) as an NCCL topology file.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write the machine (any source) in another tool's format: an NCCL topology file for NCCL_TOPO_FILE.",
        discussion: """
            One <cpu> per root complex, endpoints nested in their switches, GPUs with their NVLinks, \
            NICs with their network names. ACS per port has no place in NCCL's format: reading the \
            file back gives the same path classes and NVLinks, and the same verdicts where ACS \
            redirect does not decide.
            Examples:
              p2ptop export nccl -o topo.xml
              NCCL_TOPO_FILE=topo.xml ./all_reduce_perf -b 8 -e 1G
              p2ptop matrix --nccl topo.xml
            """)

    @OptionGroup var source: SourceOptions
    @OptionGroup var p2p: P2POptions

    /// The format; `nccl` is the one there is. (`--nccl FILE` is the source flag every command
    /// takes, so the format is a word, not a flag.)
    @Argument(help: ArgumentHelp("The format: nccl (an NCCL topology file, <system>).", valueName: "format"))
    var format: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file (atomically) instead of stdout.", valueName: "file"))
    var output: String?

    func validate() throws {
        guard format == "nccl" else { throw ValidationError("format '\(format)': expected nccl") }
    }

    func run() throws {
        let t = try source.load()
        let text = NCCLWriter.render(p2p.analyzer(for: t))
        if let output {
            if let e = FileIO.writeAtomically(output, Array(text.utf8)) { throw CommandError(message: "\(output): cannot write: \(e)") }
        } else {
            TextFit.enabled = false   // XML, not text to fit
            emit(text)
        }
    }
}
