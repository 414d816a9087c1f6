import ArgumentParser
import P2PEngine
import PCISources
import PCITopology

/// `p2ptop rdma`: RDMA devices and ports (state, rate, link layer, traffic counters) and the PCI
/// function behind each; "no RDMA devices (why)" where there are none.
struct RDMACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rdma", abstract: "RDMA devices and ports through libibverbs (or a captured sys/class/infiniband): state, rate, counters.")

    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let inventory = Self.inventory(for: source.source)
        let topology = try? source.load()
        if output.json {
            emit(RDMAJSON.render(inventory, topology).serialized(pretty: true))
        } else {
            emit(RDMAJSON.text(inventory, topology, style: output.style))
        }
    }

    /// libibverbs on the live machine; the captured `sys/class/infiniband` under a sysfs root;
    /// nothing for recorded sources, which hold no RDMA state.
    static func inventory(for source: TopologySource) -> RDMAInventory {
        switch source {
        case .live: return VerbsRDMASource().inventory()
        case .sysfsRoot(let root): return SysfsRDMASource(root: root).inventory()
        default: return RDMAInventory(devices: [], unavailable: "a dump, snapshot or demo fabric records no RDMA state; on demo fabrics `transfer --via rdma` models it", source: "none")
        }
    }
}

enum RDMAJSON {
    static func alias(_ d: RDMADevice, _ t: Topology?) -> String? {
        guard let t, let pci = d.pciAddress, let bdf = BDF(pci) else { return nil }
        return t.alias(bdf)
    }

    static func render(_ inv: RDMAInventory, _ t: Topology?) -> JSON {
        func count(_ v: UInt64?) -> JSON { v.map { .int(Int64(clamping: $0)) } ?? .null }
        return .object([
            ("schema", .string("p2ptop.rdma/1")),
            ("source", .string(inv.source)),
            ("available", .bool(!inv.devices.isEmpty)),
            ("reason", inv.unavailable.map(JSON.string) ?? .null),
            ("summary", .string(inv.summary)),
            ("devices", .array(inv.devices.map { d in
                .object([
                    ("name", .string(d.name)), ("pci", d.pciAddress.map(JSON.string) ?? .null), ("alias", alias(d, t).map(JSON.string) ?? .null),
                    ("node_type", .string(d.nodeType)), ("firmware", d.firmware.map(JSON.string) ?? .null),
                    ("node_guid", d.nodeGUID.map(JSON.string) ?? .null),
                    ("ports", .array(d.ports.map { p in
                        .object([
                            ("port", .int(Int64(p.number))), ("state", p.state.map { .string($0.name) } ?? .null),
                            ("phys_state", .string(p.physState)), ("rate", p.rate.map { .string($0.text) } ?? .null),
                            ("rate_gbps", p.rate.map { .double($0.gbps) } ?? .null), ("link_layer", .string(p.linkLayer.rawValue)),
                            ("lid", .int(Int64(p.lid))), ("xmit_bytes", count(p.transmittedBytes)), ("rcv_bytes", count(p.receivedBytes)),
                        ])
                    })),
                ])
            })),
        ])
    }

    static func text(_ inv: RDMAInventory, _ t: Topology?, style: Style) -> String {
        guard !inv.devices.isEmpty else { return style.dim(inv.summary) }
        var lines: [String] = []
        for d in inv.devices {
            let pci = d.pciAddress.map { "PCI \($0)" + (alias(d, t).map { " (\($0))" } ?? "") } ?? "no PCI function (software device)"
            lines.append(style.bold(d.name) + "  \(d.nodeType)  " + (d.firmware.map { "fw \($0)  " } ?? "") + pci)
            for p in d.ports {
                let state = p.state?.name ?? "?"
                let painted = p.state == .active ? style.good(state) : style.warn(state)
                var line = "  port \(p.number)  \(painted)  \(p.physState)  \(p.rate?.text ?? "rate unknown")  \(p.linkLayer.rawValue)"
                if p.linkLayer == .infiniband { line += "  lid 0x" + String(p.lid, radix: 16) }
                if let tx = p.transmittedBytes, let rx = p.receivedBytes { line += "  tx \(humanSize(tx))B  rx \(humanSize(rx))B" }
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }
}
