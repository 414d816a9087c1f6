import ArgumentParser
import PCISources
import LinuxFiles

/// `p2ptop snapshot [-o FILE]`: record any source with full fidelity.
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", abstract: "Record the topology (raw config space, sysfs facts, kernel, CPU) as a replayable snapshot.", discussion: "Examples:\n  p2ptop snapshot -o node17.json\n  p2ptop tree --snapshot node17.json")

    @OptionGroup var source: SourceOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file (atomically) instead of stdout.", valueName: "file"), completion: Completions.anyFile)
    var output: String?

    @Flag(help: "With -o: print a JSON summary of what was written (schema p2ptop.snapshot-written/1); without -o the snapshot itself is the JSON.")
    var json = false

    func run() throws {
        var t = try source.loadTopology()
        // A machine (live or captured) also records what the doctor and `rdma` read of it.
        switch source.source {
        case .live, .sysfsRoot:
            t.host.facts = source.source.hostFacts(t)
            t.host.rdma = source.source.rdmaInventory(t)
        default: break
        }
        if let output {
            try Snapshot.write(t, to: output)
            if json {
                emit(JSON.object([("schema", .string("p2ptop.snapshot-written/1")), ("file", .string(output)),
                                  ("snapshot_schema", .string(Snapshot.schema)), ("source", .string(source.source == .live ? "live" : String(source.source.flags.dropFirst()))),
                                  ("devices", .int(Int64(t.devices.count))), ("kernel", t.host.kernelRelease.map(JSON.string) ?? .null)]).serialized(pretty: true))
            } else {
                diagnose("p2ptop: wrote \(t.devices.count) devices to \(output)\n")
            }
        } else {
            emit(Snapshot.encode(t).serialized(pretty: true))
        }
    }
}

#if canImport(Glibc)
@preconcurrency import Glibc
#endif
