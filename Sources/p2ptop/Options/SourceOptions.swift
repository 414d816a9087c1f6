import ArgumentParser
import TextSafety
import PCISources
import PCITopology
import TerminalUI
import LinuxFiles

/// The source every command reads: live by default, or exactly one of the flags.
struct SourceOptions: ParsableArguments {
    @Option(name: .customLong("dump"), help: ArgumentHelp("Read an `lspci -x`/`-xxx`/`-xxxx` dump.", valueName: "file"), completion: Completions.anyFile)
    var dump: String?

    @Option(name: .customLong("sysfs-root"), help: ArgumentHelp("Read a captured filesystem root containing sys/ (/ is the live machine).", valueName: "dir"), completion: Completions.directory)
    var sysfsRoot: String?

    @Option(name: .customLong("snapshot"), help: ArgumentHelp("Read a p2ptop snapshot.", valueName: "file"), completion: Completions.anyFile)
    var snapshot: String?

    @Option(name: .customLong("fabric"), help: ArgumentHelp("Use a bundled demo machine (p2ptop fabrics lists them).", valueName: "name"), completion: Completions.fabrics)
    var fabric: String?

    @Option(name: .customLong("hwloc"), help: ArgumentHelp("Read an hwloc XML topology (lstopo --of xml).", valueName: "file"), completion: Completions.xml)
    var hwloc: String?

    @Option(name: .customLong("nccl"), help: ArgumentHelp("Read an NCCL topology file (NCCL_TOPO_FILE, NCCL_TOPO_DUMP_FILE).", valueName: "file"), completion: Completions.xml)
    var nccl: String?

    func validate() throws {
        let chosen = [dump, sysfsRoot, snapshot, fabric, hwloc, nccl].compactMap { $0 }
        if chosen.count > 1 {
            throw ValidationError("choose one source: --dump, --sysfs-root, --snapshot, --fabric, --hwloc or --nccl")
        }
    }

    var source: TopologySource { SourceOptions.source(dump: dump, sysfsRoot: sysfsRoot, snapshot: snapshot, fabric: fabric, hwloc: hwloc, nccl: nccl) }

    /// The one source the flags name (at most one is given), else the live machine.
    static func source(dump: String?, sysfsRoot: String?, snapshot: String?, fabric: String?, hwloc: String?, nccl: String?) -> TopologySource {
        if let dump { return .dump(dump) }
        if let sysfsRoot { return .sysfsRoot(sysfsRoot) }
        if let snapshot { return .snapshot(snapshot) }
        if let fabric { return .fabric(fabric) }
        if let hwloc { return .hwloc(hwloc) }
        if let nccl { return .nccl(nccl) }
        return .live
    }

    /// The topology, with the reader's warnings on stderr (once per load).
    /// The topology with its host facts (`TopologySource.loadWithHost`): what every command
    /// that judges pairs needs, since the running kernel's config decides first.
    func load() throws(SourceError) -> Topology { try load(withHost: true) }

    /// The topology alone, for commands that show it and judge nothing (probing the host's
    /// facts reads and inflates /proc/config.gz: start-up a listing need not pay).
    func loadTopology() throws(SourceError) -> Topology { try load(withHost: false) }

    private func load(withHost: Bool) throws(SourceError) -> Topology {
        let t = withHost ? try source.loadWithHost() : try source.load()
        for w in t.source.warnings { diagnose("p2ptop: warning: \(w)\n") }
        return t
    }
}

/// `--json` and colour choice, shared by the one-shot commands.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON (with a \"schema\" field) instead of text.")
    var json = false

    @Option(help: ArgumentHelp("Colour: auto, always or never (NO_COLOR set means never).", valueName: "when"))
    var color: ColorChoice = .auto

    var style: Style { Style(enabled: color.enabled) }
}

enum ColorChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never

    var enabled: Bool {
        if let noColor = getenv("NO_COLOR"), noColor.pointee != 0 { return false }
        switch self {
        case .always: return true
        case .never: return false
        case .auto: return isatty(1) != 0
        }
    }
}

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Resolves device arguments (aliases, BDFs, selectors) to devices, with usage errors.
extension Topology {
    func device(named text: String) throws -> Device {
        do { return try resolve(text) } catch {
            let names = devices.flatMap { d in [alias(d.bdf), d.bdf.compact].compactMap { $0 } }
            throw CommandError(message: error.message + Nearest.hint(text, among: names))
        }
    }
}

/// `--theme NAME|FILE`: a bundled theme, or a theme file whose read failure says what it is
/// (missing, a directory, a FIFO, a device, too large) rather than "no such theme".
func loadTheme(_ nameOrFile: String) throws -> Theme {
    var failure: String?
    do {
        return try Theme.load(nameOrFile) { path in
            switch FileIO.read(path, limit: 1 << 20) {
            case .success(let bytes): return String(decoding: bytes, as: UTF8.self)
            case .failure(let e): failure = e.message; return nil
            }
        }
    } catch {
        if let failure {
            throw CommandError(message: "theme \(nameOrFile): \(failure) (a theme is \(BuiltinThemes.names.joined(separator: ", ")) or a .toml file)")
        }
        throw CommandError(message: "theme \(error)")
    }
}
