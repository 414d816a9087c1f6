import ArgumentParser
import P2PDMA
import PCISources
import PCITopology

/// `p2ptop matrix`: the kernel's verdict for every ordered pair of endpoints.
struct MatrixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matrix", abstract: "P2P DMA verdict for every ordered pair of endpoints (like nvidia-smi topo -m, for any device).", discussion: "By default the endpoints that can take part in P2P DMA (--all for every function).\n\nExamples:\n  p2ptop matrix --kind gpu,nic\n  p2ptop matrix --fabric epyc-mi25 --kernel 5.15 --cpu amd:0x17")

    @OptionGroup var source: SourceOptions
    @OptionGroup var p2p: P2POptions
    @OptionGroup var output: OutputOptions

    @Option(help: ArgumentHelp("Kinds of endpoints: a comma list of gpu, nic, nvme, accelerator, storage, vga, other; p2p (GPUs, accelerators, NICs, NVMe and storage that DMA, p2pmem providers); or all.", valueName: "kinds"))
    var kind: String = "p2p"

    @Flag(help: "Every endpoint function (the same as --kind all).")
    var all = false

    func run() throws {
        let t = try source.load()
        let a = p2p.analyzer(for: t)
        let devices = try select(a)
        // Streamed: pairs are computed as they are written, never held (a matrix of 5 000
        // endpoints is 25 million pairs).
        if output.json {
            MatrixJSON.write(a, devices: devices) { print($0, terminator: "") }
            print("")
            return
        }
        MatrixGrid(analyzer: a, devices: devices, style: output.style, width: TextFit.width.map { max(40, $0) } ?? Int.max).write { emit($0) }
    }

    func select(_ a: P2PAnalyzer) throws -> [Device] {
        let every = a.endpoints
        if all || kind == "all" { return every }
        if kind == "p2p" { return a.p2pEndpoints }
        var wanted = Set<DeviceKind>()
        for k in kind.split(separator: ",") {
            guard let dk = DeviceKind(rawValue: String(k)) ?? (k == "acc" ? .accelerator : nil), dk.isEndpointKind else {
                throw CommandError(message: "--kind '\(k)': expected gpu, nic, nvme, accelerator, storage, vga, other, p2p or all")
            }
            wanted.insert(dk)
        }
        return every.filter { wanted.contains(a.topology.kind($0.bdf)) }
    }
}

/// The grid: rows are providers, columns clients; each cell the path class and a mark.
struct MatrixGrid {
    var analyzer: P2PAnalyzer
    var devices: [Device]
    var style: Style
    var width: Int

    func label(_ d: Device) -> String { analyzer.topology.alias(d.bdf) ?? d.bdf.compact }

    /// The whole grid as one text (tests).
    func text() -> String {
        var out = ""
        write { out += $0 }
        return out
    }

    /// The grid, a block of columns at a time, each row computed as it is written.
    func write(_ sink: (String) -> Void) {
        let t = analyzer.topology
        var out = "P2P DMA verdicts, kernel \(analyzer.kernel) rules (\(analyzer.kernel.bucket)), CPU \(analyzer.cpu)\n"
        if let file = analyzer.p2pdmaOff {
            out += style.bad("This kernel is built without CONFIG_PCI_P2PDMA (\(file)): every pair is refused.") + "\n"
        }
        if devices.count < 2 { return sink(out + "fewer than two endpoints: nothing to pair\n") }
        let rowLabel = max(8, devices.map { label($0).count }.max() ?? 8) + 1
        let cell = max(8, devices.map { label($0).count + 1 }.max() ?? 8)
        let perBlock = max(1, (width - rowLabel) / cell)
        var start = 0
        while start < devices.count {
            let cols = Array(devices[start..<min(devices.count, start + perBlock)])
            out += "\n" + ("provider".padding(rowLabel) + cols.map { label($0).padding(cell) }.joined()).trimmingTrailingSpaces() + "\n"
            for p in devices {
                var line = label(p).padding(rowLabel)
                for c in cols {
                    if p.bdf == c.bdf { line += "X".padding(cell); continue }
                    let v = analyzer.verdict(provider: p.bdf, client: c.bdf)
                    // NVLink between two GPUs: nvidia-smi's NV#, beside the PCIe verdict's mark.
                    let via = t.nvlinkCount(p.bdf, c.bdf).map { "NV\($0)" } ?? v.pathClass.rawValue
                    line += v.mapType.paint((via + " " + v.mapType.mark).padding(cell), style)
                }
                out += line.trimmingTrailingSpaces() + "\n"
                if out.utf8.count > 1 << 16 { sink(out); out = "" }
            }
            start += perBlock
        }
        out += """

            Legend: B  BUS_ADDR: peer-to-peer below a shared bridge, bus addresses
                    H  THRU_HOST_BRIDGE: allowed through the root complex
                    -  NOT_SUPPORTED: the kernel refuses the mapping (-EREMOTEIO)
            Path:   X same device, PIX at most one switch, PXB several bridges,
                    PHB one host bridge, NODE host bridges of one NUMA node,
                    SYS across NUMA, NV# # bonded NVLinks (the mark: the PCIe verdict)
            Rows provide the memory, columns do the DMA. Why: p2ptop path A B.
            What to change: p2ptop doctor.

            """
        // As nvidia-smi topo's legend and its affinity columns: the OS names behind each
        // column (mlx5_0, eth0), the CPUs and the NUMA node local to each endpoint.
        let affinityKnown = devices.contains { $0.sysfs?.localCPUs != nil || $0.sysfs?.numaNode != nil }
        let cpuWidth = max(12, devices.map { ($0.sysfs?.localCPUs ?? "").count }.max() ?? 0)
        let kindWidth = (devices.map { t.kind($0.bdf).tag.count }.max() ?? 4) + 2
        var rows = ["  " + "".padding(rowLabel) + "BDF".padding(14) + "kind".padding(kindWidth)
                    + (affinityKnown ? "CPU affinity".padding(cpuWidth + 2) + "NUMA  " : "") + "OS devices"]
        for d in devices {
            let os = (d.sysfs?.osDevices ?? []).filter { $0.kind != .nvme }.map(\.name)
            var row = "  " + label(d).padding(rowLabel) + d.bdf.description.padding(14) + t.kind(d.bdf).tag.padding(kindWidth)
            if affinityKnown {
                row += (d.sysfs?.localCPUs ?? "unknown").padding(cpuWidth + 2) + (d.sysfs?.numaNode.map { "\($0)" } ?? "N/A").padding(6)
            }
            rows.append((row + os.joined(separator: ", ")).trimmingTrailingSpaces())
        }
        out += "Devices:\n" + rows.joined(separator: "\n")
        if !affinityKnown { out += "\nCPU and NUMA affinity: \(t.source.kind == .live ? "not reported by this kernel" : "not in this source")" }
        if t.source.kind == .live && devices.contains(where: { $0.vendorID == 0x10de && $0.baseClass == 0x03 }) && !NVLinkProbe.available {
            out += "\nNVLink: not read (no NVIDIA driver: nvidia-smi and /dev/nvidiactl are needed)"
        }
        sink(out)
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}

/// `p2ptop.matrix/1`, written directly (pretty at the top, one compact line per pair).
enum MatrixJSON {
    /// The whole document as one string (the benchmark's and the tests' form).
    static func render(_ a: P2PAnalyzer, devices: [Device]) -> String {
        var out = ""
        write(a, devices: devices) { out += $0 }
        return out
    }

    /// The document in pieces of about 1 MiB, each pair written as it is computed.
    static func write(_ a: P2PAnalyzer, devices: [Device], _ sink: (String) -> Void) {
        let t = a.topology
        var f = VerdictJSON.Fragments(t)
        var out = "{\n  \"schema\": \"p2ptop.matrix/1\",\n  \"kernel\": " + JSON.string(a.kernel.description).serialized()
        out += ",\n  \"cpu\": " + JSON.string(a.cpu.description).serialized() + ",\n  \"devices\": ["
        out += devices.map { d in
            "\n    {\"bdf\": " + f.bdf[d.bdf]! + ", \"alias\": " + f.alias[d.bdf]! + ", \"kind\": \"" + t.kind(d.bdf).rawValue + "\"}"
        }.joined(separator: ",")
        out += "\n  ],\n  \"pairs\": ["
        var first = true
        a.forEachPair(devices) { v in
            out += first ? "\n    " : ",\n    "
            first = false
            VerdictJSON.append(v, to: &out, &f)
            if out.utf8.count > 1 << 20 { sink(out); out = "" }
        }
        out += "\n  ]\n}"
        sink(out)
    }
}
