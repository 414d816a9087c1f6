import ArgumentParser
import PCISources
import PCITopology

/// `p2ptop list`: one line per function, filtered like lspci's -s and -d.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List PCI functions, one per line (like lspci -nn), with aliases and links.", discussion: "Examples:\n  p2ptop list -d 10de:\n  p2ptop list --plain --dump box.lspci   # exactly lspci -nn")

    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions

    @Option(name: .customShort("s"), help: ArgumentHelp("Only functions in [[domain:]bus:][device][.func].", valueName: "slot"))
    var slot: String?

    @Option(name: .customShort("d"), help: ArgumentHelp("Only functions with [vendor]:[device][:class].", valueName: "id"))
    var id: String?

    @Flag(name: .customLong("no-names"), help: "Numbers only: skip the pci.ids lookup.")
    var noNames = false

    @Flag(help: "Exactly lspci -nn: no aliases, no links.")
    var plain = false

    @Flag(name: .customLong("no-hwdb"), help: "Take names from pci.ids only (like lspci -O hwdb.disable=1).")
    var noHWDB = false

    func run() throws {
        let slotFilter: SlotFilter?
        let idFilter: IDFilter?
        do {
            slotFilter = try slot.map { s throws(SelectorError) in try SlotFilter(parsing: s) }
            idFilter = try id.map { s throws(SelectorError) in try IDFilter(parsing: s) }
        } catch { throw CommandError(message: error.message) }
        let t = try source.load()
        let devices = t.select(slot: slotFilter, id: idFilter)
        let names = noNames ? nil : NameDatabase(useHWDB: !noHWDB)
        if output.json {
            emit(TopologyJSON.document(t, devices: devices, names: names).serialized(pretty: true))
            return
        }
        let style = output.style
        let showDomain = t.showsDomains
        var out = ""
        for d in devices {
            out += (showDomain ? d.bdf.description : d.bdf.short) + " "
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
        // No match prints nothing at all, as lspci does (not an empty line).
        if !out.isEmpty { emit(out, plain ? .exact : .wrapUnder(column: (showDomain ? 12 : 7) + 8)) }
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
