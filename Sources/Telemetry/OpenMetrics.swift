/// The samplers' readings as metric families: counters that only grow are `counter` (samples
/// end in `_total`), levels are `gauge`; every family has HELP and, where it has one, a base
/// unit (bytes, pages); labels as node_exporter names them (`device`, `port`) plus `bdf` and
/// `alias` for PCI functions and `pid`/`comm` for processes.
public struct MetricFamily: Sendable {
    /// `info`: a family of facts as labels on the value 1 (OpenMetrics' info type; a gauge
    /// named `…_info` in the Prometheus text format).
    public enum Kind: String, Sendable { case counter, gauge, info }
    /// The family's name without `_total`; it ends with `_<unit>` when it has a unit.
    public let name: String
    public let kind: Kind
    public let unit: String?
    public let help: String
    /// Multiplies the reading into the unit (kB → bytes, GT/s → transfers/s).
    public let scale: Double
    /// Turns the reading's label text (`nvme0n1`, `mlx5_0/1`, `comm[pid]`, a BDF) into labels.
    let labels: @Sendable (String, MetricContext) -> [(String, String)]

    /// A family whose samples carry the labels they are given (the P2P facts).
    public init(name: String, kind: Kind, unit: String?, help: String) {
        self.init(name: name, kind: kind, unit: unit, help: help, scale: 1, labels: MetricCatalog.none)
    }

    init(name: String, kind: Kind, unit: String?, help: String, scale: Double, labels: @escaping @Sendable (String, MetricContext) -> [(String, String)]) {
        self.name = name; self.kind = kind; self.unit = unit; self.help = help; self.scale = scale; self.labels = labels
    }

    /// The name a sample carries: a counter's ends in `_total`.
    public var sampleName: String {
        switch kind {
        case .counter: name + "_total"
        case .info: name + "_info"
        case .gauge: name
        }
    }
}

/// What a PCI function is called in labels: its BDF plus the alias and IDs the topology gives.
public struct FunctionLabels: Sendable, Hashable {
    public var alias: String?
    /// `0x10de`, as sysfs writes them.
    public var vendor: String?
    public var device: String?
    public init(alias: String? = nil, vendor: String? = nil, device: String? = nil) { self.alias = alias; self.vendor = vendor; self.device = device }
}

/// What labels are made from beside the reading itself: the functions by BDF, and which
/// function each disk or RDMA port hangs off.
public struct MetricContext: Sendable {
    public var functions: [String: FunctionLabels]
    public var owners: [String: String] = [:]
    public init(functions: [String: FunctionLabels] = [:]) { self.functions = functions }

    /// `bdf`, `alias`, `vendor`, `device_id` of one function (node_exporter's `device` label
    /// names disks and ports, so the PCI device ID is `device_id`).
    public func function(_ bdf: String) -> [(String, String)] {
        let f = functions[bdf]
        return [("bdf", bdf)] + [("alias", f?.alias), ("vendor", f?.vendor), ("device_id", f?.device)].compactMap { k, v in v.map { (k, $0) } }
    }
}

public enum MetricCatalog {
    static let none: @Sendable (String, MetricContext) -> [(String, String)] = { _, _ in [] }
    /// A disk or RDMA port: node_exporter's `device` (and `port`), then the PCI function it hangs off.
    static let disk: @Sendable (String, MetricContext) -> [(String, String)] = { id, c in
        [("device", id)] + (c.owners[id].map { c.function($0) } ?? [])
    }
    static let pciFunction: @Sendable (String, MetricContext) -> [(String, String)] = { id, c in c.function(id) }
    static let rdmaPort: @Sendable (String, MetricContext) -> [(String, String)] = { id, c in
        let parts = id.split(separator: "/", maxSplits: 1).map(String.init)
        let own = c.owners[id].map { c.function($0) } ?? []
        return (parts.count == 2 ? [("device", parts[0]), ("port", parts[1])] : [("device", id)]) + own
    }
    static let process: @Sendable (String, MetricContext) -> [(String, String)] = { id, _ in
        // "comm[pid]": the command name may itself hold brackets; the pid is the last pair.
        guard id.hasSuffix("]"), let open = id.lastIndex(of: "[") else { return [("comm", id)] }
        return [("pid", String(id[id.index(after: open)..<id.index(before: id.endIndex)])), ("comm", String(id[..<open]))]
    }

    /// Sampler name → reading key (without its `{label}`) → family.
    public static let families: [String: [String: MetricFamily]] = [
        "pins": [
            "vmstat_acquired": MetricFamily(name: "p2ptop_foll_pin_acquired_pages", kind: .counter, unit: "pages",
                                            help: "Pages pinned with FOLL_PIN since boot (nr_foll_pin_acquired in /proc/vmstat).", scale: 1, labels: none),
            "vmstat_released": MetricFamily(name: "p2ptop_foll_pin_released_pages", kind: .counter, unit: "pages",
                                            help: "FOLL_PIN pins released since boot (nr_foll_pin_released in /proc/vmstat).", scale: 1, labels: none),
            "outstanding": MetricFamily(name: "p2ptop_foll_pin_outstanding_pages", kind: .gauge, unit: "pages",
                                        help: "FOLL_PIN pins held now: acquired minus released (never below zero).", scale: 1, labels: none),
            "bound": MetricFamily(name: "p2ptop_foll_pin_count_bound_pages", kind: .gauge, unit: "pages",
                                  help: "How far each unrefreshed FOLL_PIN count can be off: the per-CPU batch (125 pages) times the CPUs online.", scale: 1, labels: none),
        ],
        "vmpin": [
            "total_vmpin_kb": MetricFamily(name: "p2ptop_pinned_bytes", kind: .gauge, unit: "bytes",
                                           help: "VmPin summed over every process (/proc/PID/status).", scale: 1024, labels: none),
            "total_vmlck_kb": MetricFamily(name: "p2ptop_locked_bytes", kind: .gauge, unit: "bytes",
                                           help: "VmLck summed over every process (/proc/PID/status).", scale: 1024, labels: none),
            "vmpin_kb": MetricFamily(name: "p2ptop_process_pinned_bytes", kind: .gauge, unit: "bytes",
                                     help: "VmPin of the processes that pin the most.", scale: 1024, labels: process),
            "vmlck_kb": MetricFamily(name: "p2ptop_process_locked_bytes", kind: .gauge, unit: "bytes",
                                     help: "VmLck of the processes that pin the most.", scale: 1024, labels: process),
        ],
        "p2pmem": [
            "size": MetricFamily(name: "p2ptop_p2pmem_size_bytes", kind: .gauge, unit: "bytes",
                                 help: "Size of the function's p2pmem pool (p2pmem/size).", scale: 1, labels: pciFunction),
            "available": MetricFamily(name: "p2ptop_p2pmem_available_bytes", kind: .gauge, unit: "bytes",
                                      help: "Unallocated bytes of the function's p2pmem pool (p2pmem/available).", scale: 1, labels: pciFunction),
        ],
        "rdma": [
            "xmit_bytes": MetricFamily(name: "p2ptop_rdma_port_transmitted_bytes", kind: .counter, unit: "bytes",
                                       help: "Bytes sent by the RDMA port (port_xmit_data, 4-byte words).", scale: 1, labels: rdmaPort),
            "rcv_bytes": MetricFamily(name: "p2ptop_rdma_port_received_bytes", kind: .counter, unit: "bytes",
                                      help: "Bytes received by the RDMA port (port_rcv_data, 4-byte words).", scale: 1, labels: rdmaPort),
            "xmit_packets": MetricFamily(name: "p2ptop_rdma_port_transmitted_packets", kind: .counter, unit: "packets",
                                         help: "Packets sent by a software RDMA port with no byte counters (rxe hw_counters/sent_pkts).", scale: 1, labels: rdmaPort),
            "rcv_packets": MetricFamily(name: "p2ptop_rdma_port_received_packets", kind: .counter, unit: "packets",
                                        help: "Packets received by a software RDMA port with no byte counters (rxe hw_counters/rcvd_pkts).", scale: 1, labels: rdmaPort),
        ],
        "block": [
            "read_bytes": MetricFamily(name: "p2ptop_block_read_bytes", kind: .counter, unit: "bytes",
                                       help: "Bytes read from the block device (sectors read in /sys/block/DEV/stat).", scale: 1, labels: disk),
            "write_bytes": MetricFamily(name: "p2ptop_block_written_bytes", kind: .counter, unit: "bytes",
                                        help: "Bytes written to the block device (sectors written in /sys/block/DEV/stat).", scale: 1, labels: disk),
        ],
        "pci": [
            "link_gts": MetricFamily(name: "p2ptop_pcie_link_speed_transfers_per_second", kind: .gauge, unit: nil,
                                     help: "Current PCIe link speed per lane (current_link_speed; 16 GT/s is 16e9).", scale: 1e9, labels: pciFunction),
            "link_width": MetricFamily(name: "p2ptop_pcie_link_width_lanes", kind: .gauge, unit: "lanes",
                                       help: "Current PCIe link width (current_link_width).", scale: 1, labels: pciFunction),
            "aer_total_err_cor": MetricFamily(name: "p2ptop_pcie_aer_correctable_errors", kind: .counter, unit: "errors",
                                              help: "Correctable AER errors reported by the function (aer_dev_correctable).", scale: 1, labels: pciFunction),
            "aer_total_err_nonfatal": MetricFamily(name: "p2ptop_pcie_aer_nonfatal_errors", kind: .counter, unit: "errors",
                                                   help: "Non-fatal AER errors reported by the function (aer_dev_nonfatal).", scale: 1, labels: pciFunction),
            "aer_total_err_fatal": MetricFamily(name: "p2ptop_pcie_aer_fatal_errors", kind: .counter, unit: "errors",
                                                help: "Fatal AER errors reported by the function (aer_dev_fatal).", scale: 1, labels: pciFunction),
        ],
    ]

    /// One value of one family, scaled into the family's unit; `series` names the Telemetry
    /// series whose rate goes with it (`block.read_bytes{vda}`).
    public struct Sample: Sendable {
        public let family: MetricFamily
        public let labels: [(String, String)]
        public let value: Double
        public let series: String
        public init(family: MetricFamily, labels: [(String, String)], value: Double, series: String = "") {
            self.family = family; self.labels = labels; self.value = value; self.series = series
        }
    }

    /// Every known value of the readings (stale samplers left out), by family name then labels.
    public static func samples(_ readings: [String: Reading], context: MetricContext = MetricContext()) -> [Sample] {
        var out: [Sample] = []
        for (sampler, r) in readings where r.stale == nil {
            var c = context
            c.owners = r.owners
            for (key, value) in r.values {
                let (metric, label) = split(key)
                guard let family = families[sampler]?[metric] else { continue }
                out.append(Sample(family: family, labels: label.map { family.labels($0, c) } ?? [], value: value * family.scale,
                                  series: "\(sampler).\(key)"))
            }
        }
        return sorted(out)
    }

    /// By family name, then labels: one family's samples together, as the formats require.
    public static func sorted(_ samples: [Sample]) -> [Sample] {
        func text(_ l: [(String, String)]) -> String { l.map { "\($0.0)=\($0.1)" }.joined(separator: ",") }
        return samples.sorted { ($0.family.name, text($0.labels)) < ($1.family.name, text($1.labels)) }
    }

    /// A reading key split into its metric and its label text: `read_bytes{vda}` → ("read_bytes", "vda").
    static func split(_ key: String) -> (metric: String, label: String?) {
        guard let open = key.firstIndex(of: "{"), key.hasSuffix("}") else { return (key, nil) }
        return (String(key[..<open]), String(key[key.index(after: open)..<key.index(before: key.endIndex)]))
    }
}

/// The readings as text for scrapers, in either exposition format:
/// - `openMetrics` (OpenMetrics 1.0: counter families named without `_total`, `# UNIT`,
///   `# EOF` last), what Prometheus scrapes as `application/openmetrics-text`;
/// - `prometheus` (the text format 0.0.4 that node_exporter's textfile collector and
///   `promtool check metrics` read: a counter's family is named with `_total`).
public enum OpenMetrics {
    public enum Format: Sendable { case openMetrics, prometheus }

    public static func render(_ readings: [String: Reading], context: MetricContext = MetricContext(), format: Format = .openMetrics) -> String {
        render(samples: MetricCatalog.samples(readings, context: context), format: format)
    }

    /// Samples already sorted by family (`MetricCatalog.sorted`); a family's samples must be together.
    public static func render(samples: [MetricCatalog.Sample], format: Format = .openMetrics) -> String {
        var out = ""
        var current: String?
        for sample in samples {
            let family = sample.family, name = family.name
            let sampleName = family.sampleName
            if current != name {
                current = name
                switch format {
                case .openMetrics:
                    out += "# TYPE \(name) \(family.kind.rawValue)\n"
                    if let unit = family.unit { out += "# UNIT \(name) \(unit)\n" }
                    out += "# HELP \(name) \(escapeHelp(family.help))\n"
                case .prometheus:
                    out += "# HELP \(sampleName) \(escapeHelp(family.help))\n"
                    out += "# TYPE \(sampleName) \(family.kind == .info ? "gauge" : family.kind.rawValue)\n"
                }
            }
            let labels = sample.labels.isEmpty ? "" : "{" + sample.labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
            out += "\(sampleName)\(labels) \(number(sample.value))\n"
        }
        return format == .openMetrics ? out + "# EOF\n" : out
    }

    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        return v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }

    static func escapeLabel(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }

    static func escapeHelp(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }
}
