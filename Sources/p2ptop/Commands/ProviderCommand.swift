import ArgumentParser
import P2PDMA
import PCISources
import PCITopology

/// `p2ptop provider CLIENT…`: which p2pmem pool the kernel would hand these clients
/// (`pci_p2pmem_find_many`, as nvmet does for an RDMA NIC and its namespaces), and why the
/// others are out.
struct ProviderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provider", abstract: "Which published p2pmem provider the kernel would choose for a set of clients (pci_p2pmem_find_many), and why.", discussion: "Examples:\n  p2ptop provider nic0 nvme0 --fabric icelake-gpu-switch")

    @OptionGroup var source: SourceOptions
    @OptionGroup var p2p: P2POptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "The clients that will all DMA to the memory (e.g. the RDMA NIC and the NVMe): aliases, BDFs or selectors.", completion: Completions.device)
    var clients: [String]

    func validate() throws {
        if clients.isEmpty { throw ValidationError("name at least one client") }
    }

    func run() throws {
        let t = try source.load()
        let a = p2p.analyzer(for: t)
        let choice = a.p2pmemFindMany(clients: try clients.map { try t.device(named: $0).bdf })
        emit(output.json ? ProviderRender.json(choice, a, t).serialized(pretty: true) : ProviderRender.text(choice, a, t, style: output.style))
        if choice.closest.isEmpty {
            diagnose("p2ptop: provider: no p2pmem provider serves every client: the kernel would use host memory\n")
            throw ExitCode(P2PExit.refused)
        }
    }
}

/// `p2ptop.provider/1` and provider's text, from the kernel's `pci_p2pmem_find_many` choice.
enum ProviderRender {
    static func name(_ b: BDF, _ t: Topology) -> String { t.alias(b).map { "\($0) (\(b.compact))" } ?? b.description }

    static func json(_ choice: ProviderChoice, _ a: P2PAnalyzer, _ t: Topology) -> JSON {
        JSON.object([
            ("schema", .string("p2ptop.provider/1")),
            ("kernel", .string(a.kernel.description)),
            ("clients", .array(choice.clients.map { .string($0.description) })),
            ("distance", choice.distance.map { .int(Int64($0)) } ?? .null),
            ("closest", .array(choice.closest.map { .string($0.description) })),
            ("considered", .array(choice.considered.map { c in
                .object([("provider", .string(c.provider.description)), ("alias", t.alias(c.provider).map(JSON.string) ?? .null),
                         ("pool_bytes", .uint(c.poolBytes)), ("distance", c.distance.map { .int(Int64($0)) } ?? .null),
                         ("refused_by", c.refusedBy.map { v in VerdictJSON.pair(v, t) } ?? .null)])
            })),
        ])
    }

    static func text(_ choice: ProviderChoice, _ a: P2PAnalyzer, _ t: Topology, style: Style) -> String {
        func name(_ b: BDF) -> String { Self.name(b, t) }
        var lines = ["clients: " + choice.clients.map(name).joined(separator: ", ") + ", kernel \(a.kernel) rules", ""]
        if choice.considered.isEmpty { lines.append(style.dim("no device publishes a p2pmem pool here: the kernel would use host memory")) }
        for c in choice.considered {
            let head = "  " + name(c.provider).padding(22) + ByteSize.text(c.poolBytes).padding(7)
            if let d = c.distance {
                lines.append(head + "distance \(d)" + (choice.closest.contains(c.provider) ? style.good("  ← closest") : ""))
            } else if let v = c.refusedBy {
                lines.append(head + style.bad("refused") + ": \(name(v.client)) — " + v.reason)
            }
        }
        if !choice.closest.isEmpty {
            lines.append("")
            lines.append(choice.closest.count == 1 ? "pci_p2pmem_find_many() returns \(name(choice.closest[0]))"
                         : "pci_p2pmem_find_many() picks one of these \(choice.closest.count) at random: " + choice.closest.map(name).joined(separator: ", "))
        } else if !choice.considered.isEmpty {
            lines.append("")
            lines.append(style.bad("no provider serves every client") + ": the kernel would use host memory")
        }
        return lines.joined(separator: "\n")
    }
}
