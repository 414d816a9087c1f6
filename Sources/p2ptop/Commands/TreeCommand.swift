import ArgumentParser
import PCISources
import PCITopology

/// `p2ptop tree`: the `lspci -tv` tree, with each device's alias, kind and link.
struct TreeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tree", abstract: "Show the PCI bus tree (like lspci -tv) with kinds, aliases and links.")

    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Exactly lspci -tv: names only, no p2ptop annotations.")
    var plain = false

    @Flag(name: .customLong("no-hwdb"), help: "Take names from pci.ids only (like lspci -O hwdb.disable=1).")
    var noHWDB = false

    func run() throws {
        let t = try source.load()
        let names = NameDatabase(useHWDB: !noHWDB)
        if output.json {
            emit(TopologyJSON.document(t, devices: t.devices, names: names).serialized(pretty: true))
            return
        }
        let style = output.style
        emit(TreeRenderer(topology: t) { d in
            let name = names.vendorDevice(d)
            if plain { return name }
            return name + annotation(d, t, style)
        }.render())
        for a in t.anomalies { fputs("p2ptop: warning: \(a)\n", stderr) }
    }

    func annotation(_ d: Device, _ t: Topology, _ style: Style) -> String {
        var parts: [String] = []
        let kind = t.kind(d.bdf)
        if let alias = t.alias(d.bdf) { parts.append(style.accent(alias)) }
        if kind != .other && kind != .bridge { parts.append(kind.tag) }
        if let link = d.linkSummary(style: style, in: t) { parts.append(link) }
        return parts.isEmpty ? "" : "  [" + parts.joined(separator: ", ") + "]"
    }
}

#if canImport(Glibc)
@preconcurrency import Glibc
#endif
