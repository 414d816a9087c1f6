import ArgumentParser
import PCISources
import PCITopology

/// `p2ptop tree`: the `lspci -tv` tree, with each device's alias, kind and link.
struct TreeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tree", abstract: "Show the PCI bus tree (like lspci -tv) with kinds, aliases and links.", discussion: "Examples:\n  p2ptop tree\n  p2ptop tree --plain --no-hwdb --dump box.lspci   # exactly lspci -tv")

    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Exactly lspci -tv: names only, no p2ptop annotations.")
    var plain = false

    @Flag(name: .customLong("no-hwdb"), help: "Take names from pci.ids only (like lspci -O hwdb.disable=1).")
    var noHWDB = false

    func run() throws {
        let t = try source.loadTopology()
        let names = NameDatabase(useHWDB: !noHWDB)
        if output.json {
            emit(TopologyJSON.document(t, devices: t.devices, names: names).serialized(pretty: true))
            return
        }
        let style = output.style
        let multiNUMA = Set(t.devices.compactMap { $0.sysfs?.numaNode }.filter { $0 >= 0 }).count > 1
        func render(compact: Bool) -> String {
            TreeRenderer(topology: t, compact: compact) { d in
                let name = names.vendorDevice(d)
                if plain { return name }
                return name + String(Self.mark) + annotation(d, t, style, multiNUMA: multiNUMA)
            }.render()
        }
        var tree = render(compact: false)
        // Deep trees whose art alone leaves no room for names are drawn with narrower art.
        if !plain, let width = TextFit.width, tree.split(separator: "\n").contains(where: { Self.artWidth($0) > width - 24 }) {
            tree = render(compact: true)
        }
        emit(plain ? tree : Self.fit(tree, width: TextFit.width), plain ? .exact : .wrap)
        for a in t.anomalies { diagnose("p2ptop: warning: \(a)\n") }
    }

    /// Between a device's name and p2ptop's annotation, until the line is fitted.
    static let mark: Character = "\u{1}"

    /// Each line within `width`: the name is shortened (`…`) so that the annotation — alias,
    /// kind, link, the part p2ptop adds — stays whole; where even that cannot fit, the
    /// annotation continues on the next line under the name, the tree's bars carried down.
    static func fit(_ tree: String, width: Int?) -> String {
        guard let width else { return tree.split(separator: mark, omittingEmptySubsequences: false).joined() }
        var out: [String] = []
        for line in tree.split(separator: "\n", omittingEmptySubsequences: false) {
            let parts = line.split(separator: mark, maxSplits: 1, omittingEmptySubsequences: false)
            let head = String(parts[0]), tail = parts.count > 1 ? String(parts[1]) : ""
            if TextFit.visibleWidth(head) + TextFit.visibleWidth(tail) <= width { out.append(head + tail); continue }
            let chars = Array(head)
            // The name starts after the function ("00.0") and the two spaces that end the art.
            let fn = (1..<max(1, chars.count - 2)).first { chars[$0 - 1] == "." && chars[$0].isHexDigit && chars[$0 + 1] == " " && chars[$0 + 2] == " " }
            let nameStart = min((fn ?? chars.count) + 3, chars.count)
            let art = String(chars.prefix(nameStart)), name = String(chars.dropFirst(nameStart))
            func shorten(_ s: String, to n: Int) -> String { s.count <= n ? s : n <= 1 ? "…" : String(s.prefix(n - 1)) + "…" }
            let room = width - nameStart - TextFit.visibleWidth(tail)
            if room >= 16 {
                out.append(art + shorten(name, to: room) + tail)
            } else {
                out.append(art + shorten(name, to: max(1, width - nameStart)))
                var bars = ""
                for ch in art {
                    switch ch {
                    case "|", "+": bars.append("|")
                    case "│", "├", "┬": bars.append("│")
                    default: bars.append(" ")
                    }
                }
                let annotation = String(tail.drop { $0 == " " })
                let indent = min(bars.count, max(0, width - TextFit.visibleWidth(annotation)))
                out.append(String(bars.prefix(indent)) + String(repeating: " ", count: max(0, indent - bars.count)) + annotation)
            }
        }
        return out.joined(separator: "\n")
    }

    /// Columns before the device's name (or the whole line when it has none).
    static func artWidth<S: StringProtocol>(_ line: S) -> Int {
        let chars = Array(line.prefix { $0 != mark })
        let fn = (1..<max(1, chars.count - 2)).first { chars[$0 - 1] == "." && chars[$0].isHexDigit && chars[$0 + 1] == " " && chars[$0 + 2] == " " }
        return fn.map { $0 + 3 } ?? chars.count
    }

    func annotation(_ d: Device, _ t: Topology, _ style: Style, multiNUMA: Bool = false) -> String {
        var parts: [String] = []
        let kind = t.kind(d.bdf)
        if let alias = t.alias(d.bdf) { parts.append(style.accent(alias)) }
        if kind != .other && kind != .bridge { parts.append(kind.tag) }
        if t.throughNVSwitch(d.bdf) { parts.append("NVSwitch") }
        else if t.nvlinkIndex.linked.contains(d.bdf) { parts.append("NVLink") }
        // An unknown link is worth a word on a live machine (root would read it); a file that
        // never holds links (hwloc) would repeat the same note on every line: list and show say it.
        if let link = d.linkSummary(style: style, in: t), t.source.kind == .live || d.capabilities.coverage != .unreadable || d.sysfs?.statedLinkGBps != nil {
            parts.append(link)
        }
        // Where the machine has more than one NUMA node, each function's (as lstopo places it),
        // and the OS devices on it (nvme0n1, eth0, mlx5_0), as lstopo lists them.
        if let n = d.sysfs?.numaNode, n >= 0, multiNUMA { parts.append(style.dim("node\(n)")) }
        let os = (d.sysfs?.osDevices ?? []).filter { $0.kind != .nvme }.map(\.name)
        // All of them, as lstopo lists them (a terminal wraps the line under the tree's branches).
        if !os.isEmpty { parts.append(os.joined(separator: " ")) }
        return parts.isEmpty ? "" : "  [" + parts.joined(separator: ", ") + "]"
    }
}

#if canImport(Glibc)
@preconcurrency import Glibc
#endif
