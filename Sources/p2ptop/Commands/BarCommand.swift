import ArgumentParser
import P2PEngine
import RealBackends
import PCISources
import PCITopology

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `p2ptop bar DEVICE`: may this BAR be mapped, and how fast do CPU reads of it go.
struct BarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bar", abstract: "Check the rules for mapping a real BAR (resourceN) and measure MMIO read (or, with --write --allow-write, write) bandwidth.",
        discussion: """
            Reads map resourceN read-only. A write test needs --write and --allow-write, root, no kernel driver \
            (or vfio-pci), a prefetchable BAR, no lockdown and no iomem=strict: it saves the BAR's bytes, writes \
            a pattern (through resourceN_wc where it exists), reads it back, and writes the saved bytes back.

            Examples:
              p2ptop bar gpu0 --bar 1
              p2ptop bar 41:00.0 --write --allow-write
            """)

    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "The device (alias, BDF or selector).", completion: Completions.device)
    var device: String

    @Option(help: "BAR index (default: the largest memory BAR).")
    var bar: Int?

    @Option(help: ArgumentHelp("Bytes to read (at most the BAR; default 1M).", valueName: "size"), transform: OptionValue.size("--size"))
    var size = ByteCount(1 << 20)

    @Flag(help: "The write test instead of reads (without --allow-write only the rules are checked).")
    var write = false

    @Flag(name: .customLong("allow-write"), help: "Permit writes where every rule allows them.")
    var allowWrite = false

    @Flag(name: .customLong("allow-driver-bar"), help: "Read a prefetchable BAR even though a kernel driver owns the device (reads can have side effects).")
    var allowDriverBAR = false

    func run() throws {
        let t = try source.load()
        let d = try t.device(named: device)
        let b: BAR
        switch BARProbe.choose(d, index: bar) {
        case .success(let found): b = found
        case .failure(let e): throw CommandError(message: e.message)
        }
        guard source.source == .live else {
            throw CommandError(message: "bar maps a BAR of this machine: a recorded topology (\(source.source.flags.dropFirst())) has nothing to map; run it on the live machine")
        }
        let p = BARProbe.run(d, bar: b, write: write, size: size.bytes, allowWrite: allowWrite, allowDriverBAR: allowDriverBAR, host: t.host.facts)
        emit(output.json ? Self.json(p).serialized(pretty: true) : Self.text(p))
        if p.decision != .allowed || p.error != nil {
            diagnose("p2ptop: bar: \(p.error ?? Self.rule(p).1)\n")
            throw ExitCode(P2PExit.refused)
        }
    }

    static func rule(_ p: BARProbe) -> (String, String) {
        if case .refused(let rule, let reason) = p.decision { return (rule, reason) }
        return ("allowed", "")
    }

    static func json(_ p: BARProbe) -> JSON {
        let (rule, reason) = Self.rule(p)
        return JSON.object([("schema", .string("p2ptop.bar/1")), ("device", .string(p.device.description)), ("bar", .int(Int64(p.bar.index))),
                            ("access", .string(p.write ? "write" : "read")), ("allowed", .bool(p.decision == .allowed)),
                            ("rule", .string(rule)), ("reason", .string(reason)),
                            ("read_bytes_per_s", p.readGBps.map { .double($0 * 1e9) } ?? .null),
                            ("write_bytes_per_s", p.written.map { .double($0.writeGBps * 1e9) } ?? .null),
                            ("write_verified", p.written.map { .bool($0.verified) } ?? .null), ("restored", p.written.map { .bool($0.restored) } ?? .null),
                            ("error", p.error.map(JSON.string) ?? .null)])
    }

    static func text(_ p: BARProbe) -> String {
        let (rule, reason) = Self.rule(p)
        let head = "\(p.device) BAR \(p.bar.index): "
        guard p.decision == .allowed else { return head + "refused (\(rule)): \(reason)" }
        if let g = p.readGBps { return head + "MMIO read \(format2(g)) GB/s" }
        if let w = p.written, p.error == nil { return head + "MMIO write \(format2(w.writeGBps)) GB/s, pattern read back, original contents restored" }
        return head + "allowed " + (p.error.map { "— \($0)" } ?? "")
    }
}
