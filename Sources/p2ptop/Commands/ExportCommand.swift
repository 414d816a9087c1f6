import ArgumentParser
import LinuxFiles
import P2PDMA
import PCISources

/// `p2ptop export --nccl`: the machine shown (any source) as an NCCL topology file. Here
/// `--nccl` names the format, so an NCCL file as the source is `--from-nccl FILE`.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write the machine (any source) in another tool's format: an NCCL topology file for NCCL_TOPO_FILE.",
        discussion: """
            One <cpu> per root complex, endpoints nested in their switches, GPUs with their NVLinks, \
            NICs with their network names; attributes NCCL ignores keep the host bridge's IDs and \
            ACS redirect, so reading the file back gives the same matrix.
            Examples:
              p2ptop export --nccl -o topo.xml
              NCCL_TOPO_FILE=topo.xml ./all_reduce_perf -b 8 -e 1G
              p2ptop matrix --nccl topo.xml
            """)

    @Flag(name: .customLong("nccl"), help: "An NCCL topology file (<system>).")
    var ncclFormat = false

    @Argument(help: ArgumentHelp("The format as a word (nccl), the same as --nccl.", valueName: "format"))
    var format: String?

    @Option(name: .customLong("dump"), help: ArgumentHelp("Read an `lspci -x`/`-xxx`/`-xxxx` dump.", valueName: "file"), completion: Completions.anyFile)
    var dump: String?
    @Option(name: .customLong("sysfs-root"), help: ArgumentHelp("Read a captured filesystem root containing sys/.", valueName: "dir"), completion: Completions.directory)
    var sysfsRoot: String?
    @Option(name: .customLong("snapshot"), help: ArgumentHelp("Read a p2ptop snapshot.", valueName: "file"), completion: Completions.anyFile)
    var snapshot: String?
    @Option(name: .customLong("fabric"), help: ArgumentHelp("Use a bundled demo machine.", valueName: "name"))
    var fabric: String?
    @Option(name: .customLong("hwloc"), help: ArgumentHelp("Read an hwloc XML topology.", valueName: "file"), completion: Completions.anyFile)
    var hwloc: String?
    @Option(name: .customLong("from-nccl"), help: ArgumentHelp("Read an NCCL topology file (written again with p2ptop's attributes).", valueName: "file"), completion: Completions.anyFile)
    var fromNCCL: String?

    @OptionGroup var p2p: P2POptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file (atomically) instead of stdout.", valueName: "file"), completion: Completions.anyFile)
    var output: String?

    func validate() throws {
        if let format, format != "nccl" { throw ValidationError("format '\(format)': expected nccl") }
        guard ncclFormat || format == "nccl" else { throw ValidationError("choose a format: --nccl") }
        if [dump, sysfsRoot, snapshot, fabric, hwloc, fromNCCL].compactMap({ $0 }).count > 1 {
            throw ValidationError("choose one source: --dump, --sysfs-root, --snapshot, --fabric, --hwloc or --from-nccl")
        }
    }

    var source: TopologySource { SourceOptions.source(dump: dump, sysfsRoot: sysfsRoot, snapshot: snapshot, fabric: fabric, hwloc: hwloc, nccl: fromNCCL) }

    func run() throws {
        let t = try source.load()
        let text = NCCLWriter.render(p2p.analyzer(for: t))
        if let output {
            if let e = FileIO.writeAtomically(output, Array(text.utf8)) { throw CommandError(message: "\(output): cannot write: \(e)") }
            diagnose("p2ptop: wrote an NCCL topology of \(t.devices.count) functions to \(output)\n")
        } else {
            emit(text, .exact)   // XML, not text to fit
        }
    }
}
