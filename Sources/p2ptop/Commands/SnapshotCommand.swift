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
        let t = try source.load()
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
