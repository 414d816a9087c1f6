import ArgumentParser
import P2PDMA
import PCISources
import P2PEngine
import PCITopology

/// `p2ptop path A B`: the hops from A to B, each link and its ACS bits, the bottleneck, the verdict.
struct PathCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "path", abstract: "Hop-by-hop path between two devices: links, ACS bits, bottleneck, P2P verdict and why.", discussion: "Examples:\n  p2ptop path gpu0 nvme1\n  p2ptop path nic0 gpu1 --fabric icelake-gpu-switch --json")

    @OptionGroup var source: SourceOptions
    @OptionGroup var p2p: P2POptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "The provider (whose memory is read or written): alias, BDF or selector.", completion: Completions.device)
    var provider: String

    @Argument(help: "The client (the device doing the DMA).", completion: Completions.device)
    var client: String

    func run() throws {
        let t = try source.load()
        let a = p2p.analyzer(for: t)
        let v = a.verdict(provider: try t.device(named: provider).bdf, client: try t.device(named: client).bdf)
        let report = PathReport(verdict: v, analyzer: a, hops: PathReport.hops(v, t), style: output.style)
        emit(output.json ? report.json(t).serialized(pretty: true) : report.text())
    }
}

struct PathReport {
    struct Hop { var bdf: BDF; var role: String; var link: LinkState?; var ceiling: LinkCeiling? }

    var verdict: Verdict
    var analyzer: P2PAnalyzer
    var hops: [Hop]
    var style: Style

    /// The slowest link on the path (its hop, the link, payload bytes per second of writes).
    var bottleneck: (BDF, LinkState, Double)? {
        hops.compactMap { h in h.link.flatMap { l in h.ceiling.map { (h.bdf, l, $0.payload) } } }.min { $0.2 < $1.2 }
    }

    /// The bottleneck's ceiling for reads: completions no larger than the client's MRRS.
    var readCeiling: LinkCeiling? {
        guard let b = bottleneck else { return nil }
        let t = analyzer.topology
        return LinkCeiling(link: b.1, transaction: .readCompletion, maxPayload: t.maxPayload(along: verdict.hops),
                           maxReadRequest: t.device(verdict.client)?.express?.maxReadRequest)
    }

    var bottleneckCeiling: LinkCeiling? { bottleneck.flatMap { b in hops.first { $0.bdf == b.0 }?.ceiling } }

    func json(_ t: Topology) -> JSON {
        let v = verdict
        return JSON.object([
            ("schema", .string("p2ptop.path/1")),
            ("kernel", .string(analyzer.kernel.description)),
            ("cpu", .string(analyzer.cpu.description)),
            ("verdict", VerdictJSON.pair(v, t)),
            ("hops", .array(hops.map { h in
                .object([
                    ("bdf", .string(h.bdf.description)),
                    ("alias", t.alias(h.bdf).map(JSON.string) ?? .null),
                    ("kind", .string(t.kind(h.bdf).rawValue)),
                    ("role", .string(h.role)),
                    ("link_up", h.link.map { l in .object([("speed_gts", l.speed.gts.map(JSON.double) ?? .null),
                                                          ("width", .int(Int64(l.width))),
                                                          ("bytes_per_s", l.bytesPerSecond.map(JSON.double) ?? .null),
                                                          ("payload_bytes_per_s", h.ceiling.map { .double($0.payload) } ?? .null)]) } ?? .null),
                    ("acs_ctl", t.device(h.bdf)?.acs.map { .array($0.control.names.map(JSON.string)) } ?? .null),
                    ("acs_redirect", .bool(v.acsRedirect.contains(h.bdf))),
                ])
            })),
            ("max_payload", t.maxPayload(along: v.hops).map { .int(Int64($0)) } ?? .null),
            ("bottleneck", bottleneck.map { b in .object([("bdf", .string(b.0.description)), ("link", .string(b.1.text)),
                                                          ("bytes_per_s", .double(b.2)),
                                                          ("encoded_bytes_per_s", .double(b.1.bytesPerSecond ?? 0)),
                                                          ("read_bytes_per_s", readCeiling.map { .double($0.payload) } ?? .null),
                                                          ("sizes_known", .bool(bottleneckCeiling?.sizesKnown ?? false))]) } ?? .null),
        ])
    }

    /// Each hop with the link to its upstream neighbour (the hop's own LnkSta), except at the
    /// common ancestor and on root buses.
    static func hops(_ v: Verdict, _ t: Topology) -> [Hop] {
        v.hops.enumerated().map { i, b in
            let role = b == v.provider ? "provider" : b == v.client ? "client" : b == v.commonUpstream ? "common_upstream" : "bridge"
            return Hop(bdf: b, role: role, link: FabricModel.uplink(b, v, in: t), ceiling: FabricModel.ceiling(b, v, in: t))
        }
    }

    /// `16GT/s x16 28.5 GB/s ← bottleneck`, `(turn-around point)`, or nothing.
    func linkCell(_ h: Hop) -> String {
        if let l = h.link {
            let text = "\(l.text) \(format1((h.ceiling?.payload ?? 0) / 1e9)) GB/s"
            return bottleneck.map { $0.0 == h.bdf } == true ? text + " ← bottleneck" : text
        }
        return h.role == "common_upstream" ? "(turn-around point)" : ""
    }

    func text() -> String {
        let t = analyzer.topology
        func name(_ b: BDF) -> String { (t.alias(b).map { $0 + " " } ?? "") + b.description }
        var lines: [String] = []
        lines.append(style.bold("\(name(verdict.provider)) → \(name(verdict.client))") + "   kernel \(analyzer.kernel) rules, CPU \(analyzer.cpu)")
        lines.append("")
        // Without a common upstream bridge the path leaves the hierarchy after the provider's
        // root-bus device and comes back down to the client's.
        let crossing = verdict.commonUpstream == nil ? (hops.firstIndex { t.parent($0.bdf) == nil }).map { $0 + 1 } : nil
        // Columns as wide as their longest entry: "switch downstream port" and a VMD domain's
        // BDF keep the link column aligned.
        let nameWidth = (hops.map { name($0.bdf).count }.max() ?? 20) + 2
        let kindWidth = (hops.map { t.kind($0.bdf).tag.count }.max() ?? 20) + 2
        for (i, h) in hops.enumerated() {
            if i == crossing {
                let hbs = verdict.hostBridges.isEmpty ? "root complex" : verdict.hostBridges.map { $0.description }.joined(separator: " ⇄ ")
                lines.append("    " + style.warn("[host bridge \(hbs)]"))
            }
            var s = "  " + (h.role == "provider" || h.role == "client" ? "●" : "○") + " " + name(h.bdf).padding(nameWidth)
            s += t.kind(h.bdf).tag.padding(kindWidth)
            // The third column holds the hop's link, or (ports) its ACS bits; where a hop has
            // both — the turn-around point with an ACS capability — they stay two spaces apart.
            let cell = linkCell(h)
            s += bottleneck.map { $0.0 == h.bdf } == true ? style.warn(cell) : cell
            if !cell.isEmpty && (t.device(h.bdf)?.acs != nil || verdict.acsUnknown.contains(h.bdf)) { s += "  " }
            if let acs = t.device(h.bdf)?.acs {
                let bits = acs.control.intersection(.p2pRedirect).names
                s += "ACSCtl " + (bits.isEmpty ? "no redirect" : style.bad(bits.joined(separator: " ")))
            } else if verdict.acsUnknown.contains(h.bdf) {
                s += "ACS unknown (\(t.source.configUnreadableShort))"
            }
            lines.append(s.trimmingTrailingSpaces())
        }
        lines.append("")
        let verdictText = "\(verdict.mapType.rawValue), \(verdict.distanceText), path \(verdict.pathClass.rawValue)"
        lines.append("  verdict: " + verdict.mapType.paint(verdictText, style))
        lines += TextFit.wrapped("  why:     " + verdict.reason, under: 11)
        if let c = bottleneckCeiling {
            var text = "  ceiling: \(format1(c.payload / 1e9)) GB/s of writes (\(c.link.text): \(format1(c.encoded / 1e9)) GB/s after encoding; \(c.layersText))"
            if let r = readCeiling { text += "; reads \(format1(r.payload / 1e9)) GB/s in \(r.payloadPerTLP) B completions" }
            lines += TextFit.wrapped(text, under: 11)
        }
        if let n = t.nvlinkCount(verdict.provider, verdict.client) {
            lines.append("  nvlink:  NV\(n) — the two GPUs also reach each other over \(n) bonded NVLinks, not through PCIe")
        } else if t.throughNVSwitch(verdict.provider) && t.throughNVSwitch(verdict.client) {
            lines.append("  nvlink:  both GPUs sit on NVSwitch: GPU memory moves over NVLink, not through PCIe")
        }
        if verdict.commonUpstream != nil && !verdict.acsRedirect.isEmpty {
            let change = Remedies.acsRedirectOff(verdict.acsRedirect, kernel: analyzer.kernel).map { $0 + " (may merge IOMMU groups); see p2ptop doctor" }
                ?? Remedies.acsRedirectOffUnavailable(kernel: analyzer.kernel)
            lines.append("  change:  " + change)
        }
        return lines.joined(separator: "\n")
    }
}
