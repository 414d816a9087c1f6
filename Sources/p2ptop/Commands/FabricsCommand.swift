import ArgumentParser
import PCISources
import PCITopology

/// `p2ptop fabrics`: the bundled demo machines (any command takes `--fabric NAME`).
struct FabricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fabrics", abstract: "List the bundled demo fabrics (use any of them with --fabric NAME).", discussion: "Examples:\n  p2ptop fabrics\n  p2ptop fabrics --json")

    @OptionGroup var output: OutputOptions

    func run() throws {
        let rows = try DemoFabrics.all.map { info throws(SourceError) -> (DemoFabrics.Info, Topology) in (info, try DemoFabrics.load(info.name)) }
        emit(output.json ? Self.json(rows).serialized(pretty: true) : Self.text(rows, style: output.style))
    }

    static func json(_ rows: [(DemoFabrics.Info, Topology)]) -> JSON {
        JSON.object([
            ("schema", .string("p2ptop.fabrics/1")),
            ("default", .string(DemoFabrics.defaultName)),
            ("fabrics", .array(rows.map { info, t in
                .object([("name", .string(info.name)), ("description", .string(info.description)),
                         ("modelled_on", .string(info.modelledOn)), ("kernel", .string(t.host.kernelRelease ?? "")),
                         ("cpu", .string("\(t.host.cpuVendor ?? "?"):0x\(String(t.host.cpuFamily ?? 0, radix: 16))")),
                         ("devices", .int(Int64(t.devices.count))),
                         ("aliases", .array(t.devices.compactMap { t.alias($0.bdf) }.map(JSON.string)))])
            })),
        ])
    }

    static func text(_ rows: [(DemoFabrics.Info, Topology)], style: Style) -> String {
        var lines: [String] = []
        for (i, (info, t)) in rows.enumerated() {
            lines.append(style.bold(info.name) + (i == 0 ? "  (default)" : ""))
            lines += TextFit.wrapped("  " + info.description, under: 2)
            lines += TextFit.wrapped("  modelled on: " + info.modelledOn, under: 15)
            lines.append("  \(t.devices.count) functions; " + t.devices.compactMap { t.alias($0.bdf) }.filter { !$0.hasPrefix("rp") && !$0.hasPrefix("sw") }.joined(separator: " "))
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }
}
