import ArgumentParser
import LinuxFiles
import PCISources
import PCITopology
import Reports

/// `p2ptop bars DEVICE`: a function's BARs inside the address windows of every bridge above
/// it (and the host bridge's apertures where the machine tells them) — why a 64 GiB BAR does
/// not fit, which window is the narrowest.
struct BarsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bars", abstract: "A function's BARs within the windows of the bridges above it (and the host bridge apertures), with Resizable BAR sizes.",
        discussion: "Examples:\n  p2ptop bars gpu0\n  p2ptop bars 0000:01:00.0 --json --dump box.lspci")

    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: ArgumentHelp("The function: an alias, a BDF or a selector.", valueName: "device"), completion: Completions.device)
    var device: String

    func run() throws {
        let t = try source.loadTopology()
        let d = try t.device(named: device)
        let apertures = HostApertures.read(t, d).map { BARLayout.Window(bridge: nil, kind: "aperture", base: $0.base, size: $0.size) }
        let layout = BARLayout(t, d, apertures: apertures)
        emit(output.json ? Self.json(layout).serialized(pretty: true) : Self.text(layout, t, d, style: output.style))
    }

    static func json(_ l: BARLayout) -> JSON {
        JSON.object([
            ("schema", .string("p2ptop.bars/1")), ("device", .string(l.device.description)),
            ("bars", .array(l.bars.map { TopologyJSON.bar($0.bar) })),
            ("windows", .array(l.windows.map { w in
                .object([("bridge", w.bridge.map { .string($0.description) } ?? .null), ("kind", .string(w.kind)),
                         ("address", .string("0x" + String(w.base, radix: 16))), ("size", .uint(w.size))])
            })),
        ])
    }

    static func text(_ l: BARLayout, _ t: Topology, _ d: Device, style s: Style) -> String {
        func name(_ b: BDF) -> String { t.alias(b).map { "\($0) \(b.compact)" } ?? b.compact }
        func range(_ base: UInt64, _ size: UInt64) -> String { "0x" + String(base, radix: 16) + "–0x" + String(base &+ size &- 1, radix: 16) }
        var lines = [s.bold("\(name(d.bdf)): BARs within the windows above it")]
        for w in l.windows {
            lines.append(String(repeating: "  ", count: w.depth) + "\(w.bridge.map(name) ?? "host bridge")  \(w.kind.padding(12)) \(range(w.base, w.size))  \(ByteSize.text(w.size))")
        }
        if l.windows.isEmpty {
            lines.append("  " + s.dim(t.source.kind == .fabric ? "no bridge windows in this demo fabric" : "no windows known above it (\(t.source.configUnreadableShort) or none assigned)"))
        }
        let resources = Set(d.sysfs?.resourceFiles ?? []), wc = Set(d.sysfs?.resourceWCFiles ?? [])
        for p in l.bars {
            let b = p.bar
            var text = "BAR \(b.index)  \(b.space == .io ? "I/O" : (b.is64Bit ? "64-bit" : "32-bit") + (b.prefetchable ? " prefetchable" : " non-prefetchable"))"
            text += "  " + (b.address.map { a in b.size.map { range(a, $0) } ?? "0x" + String(a, radix: 16) } ?? "unassigned")
            text += b.size.map { "  " + ByteSize.text($0) } ?? ""
            if resources.contains(b.index) { text += "  resource\(b.index)" }
            if wc.contains(b.index) { text += " resource\(b.index)_wc" }
            if let above = p.outsideOf { text += "  " + s.warn("outside the windows of \(name(above))") }
            lines.append(String(repeating: "  ", count: l.barDepth) + text)
        }
        if l.bars.isEmpty {
            lines.append("  " + s.dim("no BARs (\(d.capabilities.coverage == .unreadable ? t.source.configUnreadableShort : "none decoded"))"))
        }
        for g in l.growth {
            var text = "Resizable BAR \(g.rebar.barIndex): \(ByteSize.text(g.rebar.currentSize)) now, supports " + g.rebar.supportedSizes.map { ByteSize.text($0) }.joined(separator: " ")
            if let n = g.narrowest {
                text += "; the narrowest prefetchable window above (\(n.bridge.map(name) ?? "?"), \(ByteSize.text(n.size))) holds " + (g.largestThatFits.map { "at most \(ByteSize.text($0))" } ?? "none of them")
            }
            lines.append("  " + text)
        }
        return lines.joined(separator: "\n")
    }
}
