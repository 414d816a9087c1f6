import ArgumentParser
import PCISources
import PCITopology

/// `p2ptop list`: one line per function, filtered like lspci's -s and -d.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List PCI functions, one per line (like lspci -nn), with aliases and links.", discussion: "Examples:\n  p2ptop list -d 10de:\n  p2ptop list --plain --dump box.lspci   # exactly lspci -nn")

    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions

    @Option(name: .customShort("s"), help: ArgumentHelp("Only functions in [[domain:]bus:][device][.func].", valueName: "slot"), transform: OptionValue.slot)
    var slot: SlotFilter?

    @Option(name: .customShort("d"), help: ArgumentHelp("Only functions with [vendor]:[device][:class].", valueName: "id"), transform: OptionValue.id)
    var id: IDFilter?

    @Flag(name: .customLong("no-names"), help: "Numbers only: skip the pci.ids lookup.")
    var noNames = false

    @Flag(help: "Exactly lspci -nn: no aliases, no links.")
    var plain = false

    @Flag(name: .customLong("no-hwdb"), help: "Take names from pci.ids only (like lspci -O hwdb.disable=1).")
    var noHWDB = false

    func run() throws {
        let t = try source.loadTopology()
        let devices = t.select(slot: slot, id: id)
        let names = noNames ? nil : NameDatabase(useHWDB: !noHWDB)
        if output.json { emit(TopologyJSON.document(t, devices: devices, names: names).serialized(pretty: true)); return }
        let text = Self.lines(devices, t, names: names, plain: plain, style: output.style)
        // No match prints nothing at all, as lspci does (not an empty line).
        if !text.isEmpty { emit(text, plain ? .exact : .wrapUnder(column: (t.showsDomains ? 12 : 7) + 8)) }
    }

    /// lspci -nn's line per function (`--plain`: exactly), else with the alias and the link.
    static func lines(_ devices: [Device], _ t: Topology, names: NameDatabase?, plain: Bool, style: Style) -> String {
        var out = ""
        for d in devices {
            out += (t.showsDomains ? d.bdf.description : d.bdf.short) + " "
            if !plain { out += (t.alias(d.bdf).map { style.accent($0.padding(6)) } ?? "      ") + " " }
            if let names {
                out += "\(names.classNameMixed(d)): \(names.vendorDeviceMixed(d))"
            } else {
                out += "\(hex(d.classCode, width: 4)): \(hex(d.vendorID, width: 4)):\(hex(d.deviceID, width: 4))"
            }
            if d.revision != 0 { out += " (rev \(hex(d.revision, width: 2)))" }
            if !plain, let link = d.linkSummary(style: style, in: t) { out += "  " + link }
            out += "\n"
        }
        return out
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
