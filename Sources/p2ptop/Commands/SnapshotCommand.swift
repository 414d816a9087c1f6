import ArgumentParser
import PCISources

/// `p2ptop snapshot [-o FILE]`: record any source with full fidelity.
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", abstract: "Record the topology (raw config space, sysfs facts, kernel, CPU) as a replayable snapshot.")

    @OptionGroup var source: SourceOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file (atomically) instead of stdout.", valueName: "file"))
    var output: String?

    func run() throws {
        var t = try source.load()
        // A machine (live or captured) also records what the doctor and `rdma` read of it.
        switch source.source {
        case .live, .sysfsRoot:
            t.host.facts = DoctorCommand.hostFacts(for: source.source, t)
            t.host.rdma = RDMACommand.inventory(for: source.source, t)
        default: break
        }
        if let output {
            try Snapshot.write(t, to: output)
            fputs("p2ptop: wrote \(t.devices.count) devices to \(output)\n", stderr)
        } else {
            emit(Snapshot.encode(t).serialized(pretty: true))
        }
    }
}

#if canImport(Glibc)
@preconcurrency import Glibc
#endif
