import ArgumentParser
import P2PEngine
import RealBackends
import PCISources
import PCITopology

/// `p2ptop rdma`: RDMA devices and ports (state, rate, link layer, traffic counters) and the PCI
/// function behind each; "no RDMA devices (why)" where there are none.
struct RDMACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rdma", abstract: "RDMA devices and ports through libibverbs (or a captured sys/class/infiniband): state, rate, counters.", discussion: "Examples:\n  p2ptop rdma\n  p2ptop rdma --json")

    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let topology = try? source.loadTopology()
        let inventory = source.source.rdmaInventory(topology)
        if output.json {
            emit(RDMAJSON.render(inventory, topology).serialized(pretty: true))
        } else {
            emit(RDMAJSON.text(inventory, topology, style: output.style))
        }
    }
}

enum RDMAJSON {
    static func alias(_ d: RDMADevice, _ t: Topology?) -> String? {
        guard let t, let pci = d.pciAddress, let bdf = BDF(pci) else { return nil }
        return t.alias(bdf)
    }

    static func render(_ inv: RDMAInventory, _ t: Topology?) -> JSON {
        .object([
            ("schema", .string("p2ptop.rdma/1")),
            ("source", .string(inv.source)),
            ("available", .bool(!inv.devices.isEmpty)),
            ("reason", inv.unavailable.map(JSON.string) ?? .null),
            ("summary", .string(inv.summary)),
            ("devices", .array(inv.devices.map { d in HostJSON.device(d, extra: [("alias", alias(d, t).map(JSON.string) ?? .null)]) })),
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
                if let tx = p.transmittedBytes, let rx = p.receivedBytes { line += "  tx \(ByteSize.text(tx))  rx \(ByteSize.text(rx))" }
                lines.append(line)
                for g in p.gids {
                    lines.append("    gid \(g.index)".padding(11) + g.address.padding(41) + (g.type ?? "").padding(12) + (g.netdev ?? ""))
                }
            }
        }
        return lines.joined(separator: "\n")
    }
}
