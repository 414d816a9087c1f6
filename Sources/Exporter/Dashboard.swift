import Reports
import Telemetry

/// `p2ptop exporter dashboard`: a Grafana dashboard (JSON model, schemaVersion 39) over a
/// Prometheus data source chosen at import (`${DS_PROMETHEUS}`): the topology facts as a
/// table, each function's link rate against its capability, block and RDMA rates, pins.
public enum Dashboard {
    public struct Panel: Sendable {
        public var title: String
        public var type: String
        public var expr: String
        public var legend: String
        public var unit: String
    }

    public static let panels: [Panel] = [
        Panel(title: "P2P verdicts (the kernel's map type per pair)", type: "table",
              expr: P2PFactsMetrics.pairInfo.sampleName, legend: "{{provider_alias}} ↔ {{client_alias}}", unit: "none"),
        Panel(title: "Links below their capability", type: "table", expr: "\(P2PFactsMetrics.linkDowntrained.name) == 1 or \(P2PFactsMetrics.linkDowntrained.name)",
              legend: "{{bdf}} {{alias}}", unit: "none"),
        Panel(title: "Link width both ends can do (lanes)", type: "table",
              expr: P2PFactsMetrics.linkCapWidth.name, legend: "{{bdf}} {{alias}}", unit: "none"),
        Panel(title: "ACS redirect on P2P paths", type: "table", expr: P2PFactsMetrics.acsRedirect.name, legend: "{{bdf}} {{alias}}", unit: "none"),
        Panel(title: "Block read rate by PCI function", type: "timeseries",
              expr: "sum by (instance, bdf, alias) (rate(p2ptop_block_read_bytes_total[1m]))", legend: "{{bdf}} {{alias}}", unit: "Bps"),
        Panel(title: "FOLL_PIN pins outstanding", type: "timeseries", expr: "p2ptop_foll_pin_outstanding_pages", legend: "{{instance}}", unit: "none"),
        Panel(title: "Pages pinned per second", type: "timeseries", expr: "rate(p2ptop_foll_pin_acquired_pages_total[1m])", legend: "{{instance}}", unit: "none"),
        Panel(title: "Kernel P2PDMA", type: "stat", expr: P2PFactsMetrics.p2pdmaSupported.name, legend: "{{instance}}", unit: "none"),
    ]

    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if u.value < 0x20 { out += "\\u00" + (u.value < 16 ? "0" : "") + String(u.value, radix: 16) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    public static func json() -> String {
        var items: [String] = []
        for (i, p) in panels.enumerated() {
            let x = (i % 2) * 12, y = (i / 2) * 8
            items.append("""
                    {"id": \(i + 1), "type": \(string(p.type)), "title": \(string(p.title)),
                     "gridPos": {"x": \(x), "y": \(y), "w": 12, "h": 8},
                     "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
                     "fieldConfig": {"defaults": {"unit": \(string(p.unit))}, "overrides": []},
                     "targets": [{"refId": "A", "expr": \(string(p.expr)), "legendFormat": \(string(p.legend)), "instant": \(p.type == "timeseries" ? "false" : "true")}]}
                """)
        }
        return """
            {
              "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus"}],
              "title": "p2ptop: PCIe P2P",
              "uid": "p2ptop",
              "schemaVersion": 39,
              "tags": ["p2ptop", "pcie"],
              "time": {"from": "now-1h", "to": "now"},
              "refresh": "30s",
              "panels": [
            \(items.joined(separator: ",\n"))
              ]
            }

            """
    }
}
