import ArgumentParser
import LinuxFiles
import PCISources
import PCITopology

/// `p2ptop bars DEVICE`: a function's BARs inside the address windows of every bridge above
/// it (and the host bridge's apertures where the machine tells them) — why a 64 GiB BAR does
/// not fit, which window is the narrowest.
struct BarsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bars", abstract: "A function's BARs within the windows of the bridges above it (and the host bridge apertures), with Resizable BAR sizes.",
        discussion: "Examples:\n  p2ptop bars gpu0\n  p2ptop bars 0000:01:00.0 --json --dump box.lspci")

    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: ArgumentHelp("The function: an alias, a BDF or a selector.", valueName: "device"))
    var device: String

    struct Window { var bridge: BDF?; var kind: String; var base: UInt64; var size: UInt64 }

    /// Windows above `d`, outermost first: host bridge apertures, then each bridge's enabled
    /// memory, prefetchable and I/O windows.
    static func windows(_ t: Topology, _ d: Device, apertures: [Window]) -> [Window] {
        apertures + t.windowsAbove(d.bdf).map { b, w in
            Window(bridge: b, kind: w.kind == .memory ? "mem" : w.kind.rawValue, base: w.base, size: w.size)
        }
    }

    /// The root buses' MMIO apertures from /proc/iomem (`PCI Bus 0000:00`), live and root only
    /// (without root the kernel shows zeros): "where known".
    static func apertures(_ t: Topology, _ d: Device) -> [Window] {
        guard t.source.kind == .live, let text = FileIO.readString("/proc/iomem") else { return [] }
        let top = t.upstreamPath(d.bdf).last ?? d.bdf
        let name = "PCI Bus \(hex(top.domain, width: 4)):\(hex(top.bus, width: 2))"
        var out: [Window] = []
        for line in text.split(separator: "\n") where !line.hasPrefix(" ") && line.hasSuffix(" : " + name) {
            let range = line.split(separator: " ").first?.split(separator: "-") ?? []
            guard range.count == 2, let lo = UInt64(range[0], radix: 16), let hi = UInt64(range[1], radix: 16), hi > lo else { continue }
            out.append(Window(bridge: nil, kind: "aperture", base: lo, size: hi - lo + 1))
        }
        return out
    }

    func run() throws {
        let t = try source.load()
        let d = try t.device(named: device)
        let bars = d.bars.filter { $0.upperHalfOf == nil || $0.address != nil }
        let windows = Self.windows(t, d, apertures: Self.apertures(t, d))
        if output.json {
            emit(JSON.object([
                ("schema", .string("p2ptop.bars/1")), ("device", .string(d.bdf.description)),
                ("bars", .array(bars.map(TopologyJSON.bar))),
                ("windows", .array(windows.map { w in
                    .object([("bridge", w.bridge.map { .string($0.description) } ?? .null), ("kind", .string(w.kind)),
                             ("address", .string("0x" + String(w.base, radix: 16))), ("size", .uint(w.size))])
                })),
            ]).serialized(pretty: true))
            return
        }
        let s = output.style
        func name(_ b: BDF) -> String { t.alias(b).map { "\($0) \(b.compact)" } ?? b.compact }
        func range(_ base: UInt64, _ size: UInt64) -> String { "0x" + String(base, radix: 16) + "–0x" + String(base &+ size &- 1, radix: 16) }
        var lines = [s.bold("\(name(d.bdf)): BARs within the windows above it")]
        var depth = 0, last: BDF?? = .none
        for w in windows {
            if last == nil || last! != w.bridge { depth += 1; last = .some(w.bridge) }
            let who = w.bridge.map(name) ?? "host bridge"
            lines.append(String(repeating: "  ", count: depth) + "\(who)  \(w.kind.padding(12)) \(range(w.base, w.size))  \(ByteSize.text(w.size))")
        }
        if windows.isEmpty {
            lines.append("  " + s.dim(t.source.kind == .fabric ? "no bridge windows in this demo fabric" : "no windows known above it (\(t.source.configUnreadableShort) or none assigned)"))
        }
        let resources = Set(d.sysfs?.resourceFiles ?? []), wc = Set(d.sysfs?.resourceWCFiles ?? [])
        for b in bars {
            var text = "BAR \(b.index)  \(b.space == .io ? "I/O" : (b.is64Bit ? "64-bit" : "32-bit") + (b.prefetchable ? " prefetchable" : " non-prefetchable"))"
            text += "  " + (b.address.map { a in b.size.map { range(a, $0) } ?? "0x" + String(a, radix: 16) } ?? "unassigned")
            text += b.size.map { "  " + ByteSize.text($0) } ?? ""
            if resources.contains(b.index) { text += "  resource\(b.index)" }
            if wc.contains(b.index) { text += " resource\(b.index)_wc" }
            // Inside which window of the bridge just above?
            if let a = b.address, let size = b.size, b.space == .memory, let above = t.upstreamPath(d.bdf).first {
                let fits = windows.filter { $0.bridge == above && $0.kind != "io" }.contains { a >= $0.base && a &+ size &- 1 <= $0.base &+ $0.size &- 1 }
                if !windows.filter({ $0.bridge == above }).isEmpty { text += fits ? "" : "  " + s.warn("outside the windows of \(name(above))") }
            }
            lines.append(String(repeating: "  ", count: depth + 1) + text)
        }
        if bars.isEmpty {
            let why = d.capabilities.coverage == .unreadable ? t.source.configUnreadableShort : "none decoded"
            lines.append("  " + s.dim("no BARs (\(why))"))
        }
        for r in d.capabilities.resizableBARs where !r.isVF {
            var text = "Resizable BAR \(r.barIndex): \(ByteSize.text(r.currentSize)) now, supports " + r.supportedSizes.map { ByteSize.text($0) }.joined(separator: " ")
            let narrowest = windows.filter { $0.bridge != nil && $0.kind == "prefetchable" }.min { $0.size < $1.size }
            if let n = narrowest {
                let fit = r.supportedSizes.filter { $0 <= n.size }.max()
                text += "; the narrowest prefetchable window above (\(n.bridge.map(name) ?? "?"), \(ByteSize.text(n.size))) holds " + (fit.map { "at most \(ByteSize.text($0))" } ?? "none of them")
            }
            lines.append("  " + text)
        }
        emit(lines.joined(separator: "\n"))
    }
}
