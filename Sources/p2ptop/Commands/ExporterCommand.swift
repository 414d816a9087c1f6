import ArgumentParser
import Exporter
import LinuxFiles
import PCISources
import Reports
import Telemetry

/// `p2ptop exporter`: an HTTP endpoint for Prometheus (serve, the default), and the rules
/// and dashboard that go with its metrics.
struct ExporterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exporter", abstract: "Serve the P2P facts and counters to Prometheus over HTTP (/metrics); print its alert rules and Grafana dashboard.",
        discussion: """
            Examples:
              p2ptop exporter                         # http://127.0.0.1:9846/metrics
              p2ptop exporter --listen 0.0.0.0:9846   # every interface, when asked
              p2ptop exporter rules > /etc/prometheus/p2ptop.rules.yml
              p2ptop exporter dashboard > p2ptop-dashboard.json
            """,
        subcommands: [Serve.self, Rules.self, DashboardJSON.self], defaultSubcommand: Serve.self)

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve /metrics (the default).",
                                                        discussion: "Examples:\n  p2ptop exporter serve --listen 127.0.0.1:9846\n  p2ptop exporter --fabric icelake-gpu-switch --listen 127.0.0.1:19847")

        @Option(help: ArgumentHelp("ADDRESS:PORT to listen on; 0.0.0.0 or [::] for every interface.", valueName: "addr:port"))
        var listen = "127.0.0.1:9846"

        @Option(name: .customLong("sysfs-root"), help: ArgumentHelp("Root to read proc/ and sys/ under (/ is this machine).", valueName: "dir"), completion: Completions.directory)
        var root = "/"

        @Option(help: ArgumentHelp("Facts of a bundled demo machine instead of this one's (its counters are this machine's).", valueName: "name"), completion: Completions.fabrics)
        var fabric: String?

        @Option(name: .customLong("facts-interval"), help: ArgumentHelp("Seconds between re-reads of the topology and verdicts (counters are read every scrape).", valueName: "seconds"))
        var factsInterval: Double = 60

        @Option(name: .customLong("max-pairs"), help: ArgumentHelp("The most endpoint pairs exposed; the rest are counted in p2ptop_p2p_pairs_dropped.", valueName: "n"))
        var maxPairs = P2PFactsMetrics.defaultMaxPairs

        @Option(name: .customLong("max-connections"), help: ArgumentHelp("Connections served at once; more are closed at accept.", valueName: "n"))
        var maxConnections = 512

        func validate() throws {
            _ = try Self.address(listen)
            guard factsInterval >= 1 && factsInterval <= 86_400 else { throw ValidationError("--facts-interval must be 1 to 86400 seconds") }
            guard maxPairs >= 0 && maxPairs <= 1_000_000 else { throw ValidationError("--max-pairs must be 0 to 1000000") }
            guard maxConnections >= 1 && maxConnections <= 65_536 else { throw ValidationError("--max-connections must be 1 to 65536") }
        }

        /// `127.0.0.1:9846`, `[::1]:9846`: the address must be named (no `:9846` meaning all).
        static func address(_ s: String) throws -> (host: String, port: Int) {
            let expected = "expected ADDRESS:PORT, such as 127.0.0.1:9846 (0.0.0.0:9846 for every interface)"
            guard let colon = s.lastIndex(of: ":") else { throw ValidationError("--listen \(s): \(expected)") }
            var host = String(s[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty, let port = Int(s[s.index(after: colon)...]), (0...65_535).contains(port) else {
                throw ValidationError("--listen \(s): \(expected)")
            }
            return (host, port)
        }

        func run() throws {
            guard FileIO.isDirectory(root) else { throw CommandError(message: "\(root): not a directory: expected a root containing proc/ and sys/") }
            let (host, port) = try Self.address(listen)
            let collector = ScrapeCollector(root: root, fabric: fabric, factsInterval: factsInterval, maxPairs: maxPairs)
            let scrape = SharedScrape(stats: ServerStats(), collect: collector.collect)
            var limits = ExporterLimits()
            limits.maxConnections = maxConnections
            let server: ExporterServer
            do { server = try ExporterServer.start(host: host, port: port, limits: limits, scrape: scrape) } catch {
                throw CommandError(message: "--listen \(listen): cannot listen: \(error)")
            }
            let shown = host.contains(":") ? "[\(host)]" : host
            diagnose("p2ptop exporter: serving http://\(shown):\(server.port)/metrics\n")
            try server.wait()
        }
    }

    struct Rules: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rules", abstract: "Print the Prometheus alert rules for these metrics (YAML).",
                                                        discussion: "Examples:\n  p2ptop exporter rules > p2ptop.rules.yml && promtool check rules p2ptop.rules.yml")
        func run() { emit(String(AlertRules.yaml().dropLast())) }
    }

    struct DashboardJSON: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "dashboard", abstract: "Print a Grafana dashboard for these metrics (JSON model).",
                                                        discussion: "Examples:\n  p2ptop exporter dashboard > p2ptop-dashboard.json")
        func run() { emit(String(Dashboard.json().dropLast())) }
    }
}

/// Counters every scrape; the topology, its labels and the verdicts every `factsInterval`.
/// Runs on the exporter's sampling thread only.
final class ScrapeCollector {
    let telemetry: Telemetry
    let source: TopologySource
    let factsInterval: Double
    let maxPairs: Int
    var facts: [MetricCatalog.Sample] = []
    var context = MetricContext()
    var factsTime = -Double.infinity

    init(root: String, fabric: String?, factsInterval: Double, maxPairs: Int) {
        telemetry = Telemetry.standard(root: root)
        source = fabric.map(TopologySource.fabric) ?? (root == "/" ? .live : .sysfsRoot(root))
        self.factsInterval = factsInterval
        self.maxPairs = maxPairs
    }

    func collect() -> [MetricCatalog.Sample] {
        let now = Monotonic.seconds()
        if now - factsTime >= factsInterval {
            factsTime = now
            if let t = try? source.loadWithHost() {
                context = P2PFactsMetrics.context(t)
                facts = P2PFactsMetrics.samples(P2POptions.analyzer(for: t), maxPairs: maxPairs)
            }
        }
        telemetry.tick(time: now)
        return MetricCatalog.samples(telemetry.lastReadings, context: context) + facts
    }
}
