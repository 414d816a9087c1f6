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

    @Argument(help: "The device (alias, BDF or selector).")
    var device: String

    @Option(help: "BAR index (default: the largest memory BAR).")
    var bar: Int?

    @Option(help: ArgumentHelp("Bytes to read (at most the BAR).", valueName: "size"))
    var size: String = "1M"

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
        if let i = bar {
            guard let found = d.bars.first(where: { $0.index == i && !$0.isVirtual }) else {
                throw CommandError(message: "--bar \(i): \(d.bdf) has no BAR \(i) (it has \(d.bars.filter { $0.upperHalfOf == nil }.map { "\($0.index)" }.joined(separator: ", ")))")
            }
            if let lower = found.upperHalfOf {
                throw CommandError(message: "--bar \(i): that is the upper half of \(d.bdf)'s 64-bit BAR \(lower); use --bar \(lower)")
            }
            b = found
        } else {
            guard let largest = d.bars.filter({ $0.space == .memory && $0.upperHalfOf == nil }).max(by: { ($0.size ?? 0) < ($1.size ?? 0) }) else {
                throw CommandError(message: "\(d.bdf) has no memory BAR")
            }
            b = largest
        }
        let live = source.source == .live
        guard live else {
            throw CommandError(message: "bar maps a BAR of this machine: a recorded topology (\(source.source.flags.dropFirst())) has nothing to map; run it on the live machine")
        }
        let host = live ? HostProbe.facts(root: "/") : nil
        let facts = BARAccessPolicy.Facts(bar: b, driver: d.sysfs?.driver, hasResourceFile: d.sysfs?.resourceFiles.contains(b.index) ?? false,
                                          isRoot: geteuid() == 0, lockdown: host?.lockdown, iomemStrict: host?.iomemStrict ?? false)
        let decision = BARAccessPolicy.check(facts, write: write, allowWrite: allowWrite, allowDriverBAR: allowDriverBAR)
        var gbps: Double?
        var written: BARAccess.WriteResult?
        var error: String?
        if case .allowed = decision {
            if !live { error = "a recorded topology has no BAR to \(write ? "write" : "read"): run on the live machine" } else {
                let bytes = max(4096, min(ByteSize.parse(size) ?? (1 << 20), Int(b.size ?? 0)))
                do throws(EngineError) {
                    if write {
                        written = try BARAccess.writeTest(device: d.bdf, bar: b.index, size: bytes,
                                                                writeCombining: d.sysfs?.resourceWCFiles.contains(b.index) ?? false)
                        if let w = written, !w.verified || !w.restored {
                            error = w.restored ? "the pattern did not read back (the BAR is not plain memory)" : "the original contents could not be restored"
                        }
                    } else {
                        gbps = try BARAccess.readBandwidth(device: d.bdf, bar: b.index, size: bytes)
                    }
                } catch let e { error = e.description }
            }
        }
        var ruleText = "allowed", reasonText = ""
        if case .refused(let rule, let reason) = decision { ruleText = rule; reasonText = reason }
        if output.json {
            emit(JSON.object([("schema", .string("p2ptop.bar/1")), ("device", .string(d.bdf.description)), ("bar", .int(Int64(b.index))),
                              ("access", .string(write ? "write" : "read")), ("allowed", .bool(decision == .allowed)),
                              ("rule", .string(ruleText)), ("reason", .string(reasonText)),
                              ("read_bytes_per_s", gbps.map { .double($0 * 1e9) } ?? .null),
                              ("write_bytes_per_s", written.map { .double($0.writeGBps * 1e9) } ?? .null),
                              ("write_verified", written.map { .bool($0.verified) } ?? .null), ("restored", written.map { .bool($0.restored) } ?? .null),
                              ("error", error.map(JSON.string) ?? .null)]).serialized(pretty: true))
        } else if decision == .allowed {
            if let g = gbps { emit("\(d.bdf) BAR \(b.index): MMIO read \(format2(g)) GB/s") }
            else if let w = written, error == nil { emit("\(d.bdf) BAR \(b.index): MMIO write \(format2(w.writeGBps)) GB/s, pattern read back, original contents restored") }
            else { emit("\(d.bdf) BAR \(b.index): allowed " + (error.map { "— \($0)" } ?? "")) }
        } else {
            emit("\(d.bdf) BAR \(b.index): refused (\(ruleText)): \(reasonText)")
        }
        if decision != .allowed || error != nil { throw ExitCode(P2PExit.refused) }
    }
}
