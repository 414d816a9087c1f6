import ArgumentParser
import PCISources

/// `p2ptop schema [NAME]`: the JSON Schema (draft 2020-12) of each document p2ptop prints.
/// The files are `Sources/p2ptop/Schemas/*.json`, compiled into the binary; the tests
/// validate every command's `--json` output against them with a real validator.
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema", abstract: "Print the JSON Schema of a p2ptop document (list them with no name).",
        discussion: """
        Examples:
          p2ptop schema                      # every document, its schema name and command
          p2ptop schema topology > topology.schema.json
          p2ptop list --json | check-jsonschema --schemafile <(p2ptop schema topology) -
        """)

    @Argument(help: ArgumentHelp("A document: topology, transfer, … or its schema name (p2ptop.topology/1).", valueName: "name"))
    var name: String?

    /// Document name → the schema file's bytes.
    static let catalog: [(name: String, bytes: [UInt8])] = [
        ("topology", PackageResources.topology_json), ("device", PackageResources.device_json),
        ("doctor", PackageResources.doctor_json), ("gds", PackageResources.gds_json), ("matrix", PackageResources.matrix_json),
        ("path", PackageResources.path_json), ("provider", PackageResources.provider_json),
        ("transfer", PackageResources.transfer_json), ("scenarios", PackageResources.scenarios_json),
        ("scenario-event", PackageResources.scenario_event_json), ("rdma", PackageResources.rdma_json),
        ("sample", PackageResources.sample_json), ("snapshot", PackageResources.snapshot_json),
        ("snapshot-written", PackageResources.snapshot_written_json), ("bench", PackageResources.bench_json),
        ("bar", PackageResources.bar_json), ("bars", PackageResources.bars_json), ("diff", PackageResources.diff_json), ("fabrics", PackageResources.fabrics_json), ("lab", PackageResources.lab_json),
        ("lab-fabrics", PackageResources.lab_fabrics_json), ("lab-kernels", PackageResources.lab_kernels_json), ("lab-observed", PackageResources.lab_observed_json),
        ("demo-recording", PackageResources.demo_recording_json),
    ]

    static func document(_ bytes: [UInt8]) -> JSON? { try? JSON.parse(bytes) }

    func run() throws {
        let docs = Self.catalog.map { ($0.name, $0.bytes, Self.document($0.bytes)) }
        guard let name else {
            for (n, _, doc) in docs {
                emit(n.padding(18) + (doc?["title"]?.stringValue ?? "?"))
                if let d = doc?["description"]?.stringValue { emit(TextFit.wrapped("  " + d, under: 2).joined(separator: "\n")) }
            }
            return
        }
        guard let hit = docs.first(where: { $0.0 == name || $0.2?["title"]?.stringValue == name }) else {
            throw CommandError(message: "schema \(name): no such document (p2ptop schema lists them)")
        }
        emit(String(decoding: hit.1, as: UTF8.self))
    }
}
