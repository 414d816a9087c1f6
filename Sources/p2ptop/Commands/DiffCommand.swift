import ArgumentParser
import LinuxFiles
import P2PDMA
import PCISources
import PCITopology

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `p2ptop diff A B`: what differs between two machines or two moments of one — the change
/// that explains a slow node first. Exit 0 equal, 1 different (as diff), 2 on error.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "Compare two machines (live, fabric:NAME, or a snapshot, dump, sysfs root, hwloc or NCCL file): what changed, and which P2P verdicts it changed.",
        discussion: """
            Exit status 0 when equal, 1 when different, 2 on error. Fleet use: snapshot every node, \
            diff each against a golden one.
            Examples:
              p2ptop diff golden.json node17.json
              p2ptop diff live golden.json --ignore driver
              p2ptop diff fabric:icelake-gpu-switch snapshot.json --json
            """)

    @Argument(help: ArgumentHelp("The first machine: live, fabric:NAME or a path (its kind is detected).", valueName: "a"))
    var a: String

    @Argument(help: ArgumentHelp("The second machine.", valueName: "b"))
    var b: String

    @Option(name: .customLong("ignore"), help: ArgumentHelp("A kind of change to leave out (repeatable): \(TopologyDiff.Field.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "field"),
            transform: OptionValue.parser("--ignore", expected: "one of " + TopologyDiff.Field.allCases.map(\.rawValue).joined(separator: ", ")) { TopologyDiff.Field(rawValue: $0) })
    var ignore: [TopologyDiff.Field] = []

    @OptionGroup var output: OutputOptions

    /// What a name on the command line is: `live`, `fabric:NAME`, a directory (a captured root),
    /// a JSON file (a snapshot), an XML file (hwloc's or NCCL's, by its root element), else a dump.
    static func source(_ spec: String) throws -> TopologySource {
        if spec == "live" { return .live }
        if spec.hasPrefix("fabric:") { return .fabric(String(spec.dropFirst(7))) }
        if FileIO.isDirectory(spec) { return .sysfsRoot(spec) }
        // The first 4 KiB say what the file is.
        let head: [UInt8]
        switch FileIO.readPrefix(spec, count: 4096) {
        case .success(let h): head = h
        case .failure(let e):
            throw CommandError(message: "\(spec): \(e.errno == ENOENT ? "no such file or directory" : e.message) (expected live, fabric:NAME, or a snapshot, dump, sysfs root, hwloc or NCCL file)")
        }
        let text = String(decoding: head.prefix(4096), as: UTF8.self)
        let start = text.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        if start.hasPrefix("{") { return .snapshot(spec) }
        if start.hasPrefix("<") {
            if text.contains("<topology") { return .hwloc(spec) }
            return .nccl(spec)   // <system>, or a <graphs> file the reader refuses with the reason
        }
        return .dump(spec)
    }

    func run() throws {
        let ta = try Self.source(a).loadWithHost(), tb = try Self.source(b).loadWithHost()
        for w in ta.source.warnings + tb.source.warnings { diagnose("p2ptop: warning: \(w)\n") }
        // Each side under its own kernel and CPU: a node on another kernel is a finding.
        let aa = P2POptions.analyzer(for: ta), ab = P2POptions.analyzer(for: tb)
        let d = TopologyDiff.compare(aa, ab, ignore: Set(ignore))
        let names = (a, b), ignored = Set(ignore).map(\.rawValue).sorted()
        emit(output.json ? DiffRender.json(d, names, aa, ab, ignored: ignored).serialized(pretty: true) : DiffRender.text(d, names, aa, ab, ignored: ignored, style: output.style))
        if !d.isEqual { throw ExitCode(P2PExit.refused) }
    }
}

/// `p2ptop.diff/1` and diff's text, from one `TopologyDiff`.
enum DiffRender {
    static func json(_ d: TopologyDiff, _ names: (String, String), _ aa: P2PAnalyzer, _ ab: P2PAnalyzer, ignored: [String]) -> JSON {
        func side(_ spec: String, _ an: P2PAnalyzer) -> JSON {
            .object([("source", .string(spec)), ("kind", .string(an.topology.source.kind.rawValue)), ("kernel", .string(an.kernel.description)),
                     ("functions", .int(Int64(an.topology.devices.count)))])
        }
        return JSON.object([
            ("schema", .string("p2ptop.diff/1")), ("a", side(names.0, aa)), ("b", side(names.1, ab)), ("equal", .bool(d.isEqual)),
            ("changes", .array(d.changes.map { c in
                .object([("field", .string(c.field.rawValue)), ("device", c.device.map { .string($0.description) } ?? .null),
                         ("client", c.client.map { .string($0.description) } ?? .null),
                         ("before", .string(c.before)), ("after", .string(c.after)), ("text", .string(c.text)),
                         ("cause", c.cause.map(JSON.string) ?? .null)])
            })),
            ("not_compared", .array(d.notCompared.map(JSON.string))),
            ("ignored", .array(ignored.map(JSON.string))),
        ])
    }

    static func text(_ d: TopologyDiff, _ names: (String, String), _ aa: P2PAnalyzer, _ ab: P2PAnalyzer, ignored: [String], style s: Style) -> String {
        let (ta, tb) = (aa.topology, ab.topology)
        var lines = ["a: \(names.0) (\(ta.source.kind.rawValue), \(ta.devices.count) functions, kernel \(aa.kernel) rules)",
                     "b: \(names.1) (\(tb.source.kind.rawValue), \(tb.devices.count) functions, kernel \(ab.kernel) rules)", ""]
        if d.isEqual {
            lines.append(s.good("equal") + (ignored.isEmpty ? "" : " (ignoring \(ignored.joined(separator: ", ")))"))
        } else {
            lines.append("\(d.changes.count) change\(d.changes.count == 1 ? "" : "s"), the ones P2P feels first:")
            // Verdict changes under the cause that explains them, then every other change.
            let verdicts = d.changes.filter { $0.field == .verdict }
            var causes: [String] = []
            for c in verdicts where !causes.contains(c.cause ?? "") { causes.append(c.cause ?? "") }
            for cause in causes {
                let group = verdicts.filter { ($0.cause ?? "") == cause }
                lines.append("  " + s.bad("\(group.count) verdict\(group.count == 1 ? "" : "s")") + " changed by \(cause):")
                for c in group { lines.append("    " + c.text) }
            }
            for c in d.changes where c.field != .verdict { lines.append("  " + s.warn(c.field.rawValue.padding(9)) + c.text) }
        }
        for n in d.notCompared { lines.append(s.dim("not compared: " + n)) }
        return lines.joined(separator: "\n")
    }
}
