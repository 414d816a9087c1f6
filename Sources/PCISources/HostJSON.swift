import PCITopology

/// JSON for the host facts and RDMA devices: the doctor's and `rdma`'s output, and the
/// snapshot's `host.facts` / `host.rdma` (one shape for all, read back leniently: a field that
/// is absent is unknown, a field of the wrong type is an error naming it).
public enum HostJSON {
    public static func facts(_ h: HostFacts) -> JSON {
        let config: (String, String)
        switch h.p2pdma {
        case .enabled(let e): config = ("enabled", e)
        case .disabled(let f): config = ("disabled", f)
        case .unknown(let w): config = ("unknown", w)
        }
        func bytes(_ v: UInt64?) -> JSON { v.map { .uint($0) } ?? .null }
        return .object([
            ("p2pdma_config", .string(config.0)), ("p2pdma_evidence", .string(config.1)),
            ("iommu_units", .array(h.iommuUnits.map(JSON.string))), ("iommu_default_domain", h.iommuDefaultDomain.map(JSON.string) ?? .null),
            ("cmdline", .array(h.cmdlineFlags.map(JSON.string))), ("lockdown", h.lockdown.map(JSON.string) ?? .null),
            ("iomem_strict", .bool(h.iomemStrict)), ("memlock_soft_bytes", bytes(h.memlockSoft)), ("memlock_hard_bytes", bytes(h.memlockHard)),
            ("cap_ipc_lock", .bool(h.capIPCLock)), ("rdma_devices", .array(h.rdmaDevices.map(JSON.string))),
        ])
    }

    static func strings(_ j: JSON?, _ file: String, _ field: String) throws(SourceError) -> [String] {
        guard let j, !j.isNull else { return [] }
        guard let a = j.arrayValue else { throw SourceError(file: file, field: field, "expected an array of strings") }
        var out: [String] = []
        for (i, v) in a.enumerated() {
            guard let s = v.stringValue else { throw SourceError(file: file, field: "\(field)[\(i)]", "expected a string") }
            out.append(s)
        }
        return out
    }

    public static func facts(from j: JSON, file: String, field: String) throws(SourceError) -> HostFacts {
        let evidence = j["p2pdma_evidence"]?.stringValue ?? ""
        let config: HostFacts.P2PDMAConfig
        switch j["p2pdma_config"]?.stringValue {
        case "enabled"?: config = .enabled(evidence: evidence)
        case "disabled"?: config = .disabled(file: evidence)
        case "unknown"?, nil: config = .unknown(why: evidence.isEmpty ? "not recorded" : evidence)
        case let other?: throw SourceError(file: file, field: "\(field).p2pdma_config", "expected enabled, disabled or unknown, found '\(other)'")
        }
        return HostFacts(p2pdma: config, iommuUnits: try strings(j["iommu_units"], file, "\(field).iommu_units"),
                         iommuDefaultDomain: j["iommu_default_domain"]?.stringValue,
                         cmdlineFlags: try strings(j["cmdline"], file, "\(field).cmdline"),
                         lockdown: j["lockdown"]?.stringValue, iomemStrict: j["iomem_strict"]?.boolValue ?? false,
                         memlockSoft: j["memlock_soft_bytes"]?.uint64Value, memlockHard: j["memlock_hard_bytes"]?.uint64Value,
                         capIPCLock: j["cap_ipc_lock"]?.boolValue ?? false,
                         rdmaDevices: try strings(j["rdma_devices"], file, "\(field).rdma_devices"))
    }

    /// The kernel's GID type (`RoCE v2`, `IB/RoCE v1`) as a JSON token (`roce_v2`, `ib_roce_v1`), and back.
    static func gidTypeToken(_ kernel: String) -> String {
        String(kernel.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }
    static func gidType(token: String) -> String {
        switch token {
        case "roce_v2": return "RoCE v2"
        case "ib_roce_v1": return "IB/RoCE v1"
        default: return token   // snapshots before 0.4 kept the kernel's text
        }
    }

    public static func port(_ p: RDMAPort) -> JSON {
        func count(_ v: UInt64?) -> JSON { v.map { .uint($0) } ?? .null }
        return .object([
            ("port", .int(Int64(p.number))), ("state", p.state.map { .string($0.name) } ?? .null),
            ("phys_state", .string(p.physState)), ("rate", p.rate.map { .string($0.text) } ?? .null),
            ("rate_bits_per_s", p.rate.map { .double($0.gbps * 1e9) } ?? .null), ("link_layer", .string(p.linkLayer.rawValue)),
            ("lid", .int(Int64(p.lid))), ("xmit_bytes", count(p.transmittedBytes)), ("rcv_bytes", count(p.receivedBytes)),
            ("gids", .array(p.gids.map { g in
                .object([("index", .int(Int64(g.index))), ("gid", .string(g.gid)), ("type", g.type.map { .string(gidTypeToken($0)) } ?? .null),
                         ("netdev", g.netdev.map(JSON.string) ?? .null)])
            })),
        ])
    }

    /// One device; `extra` goes after the name (the topology's alias, for `p2ptop rdma`).
    public static func device(_ d: RDMADevice, extra: [(String, JSON)] = []) -> JSON {
        .object([("name", .string(d.name)), ("pci", d.pciAddress.map(JSON.string) ?? .null)] + extra + [
            ("node_type", .string(d.nodeType)), ("firmware", d.firmware.map(JSON.string) ?? .null),
            ("node_guid", d.nodeGUID.map(JSON.string) ?? .null), ("ports", .array(d.ports.map(port))),
        ])
    }

    public static func inventory(_ inv: RDMAInventory) -> JSON {
        .object([("source", .string(inv.source)), ("reason", inv.unavailable.map(JSON.string) ?? .null),
                 ("devices", .array(inv.devices.map { device($0) }))])
    }

    public static func inventory(from j: JSON, file: String, field: String) throws(SourceError) -> RDMAInventory {
        var devices: [RDMADevice] = []
        for (i, d) in (j["devices"]?.arrayValue ?? []).enumerated() {
            let f = "\(field).devices[\(i)]"
            guard let name = d["name"]?.stringValue else { throw SourceError(file: file, field: "\(f).name", "expected a string") }
            var ports: [RDMAPort] = []
            for (k, p) in (d["ports"]?.arrayValue ?? []).enumerated() {
                guard let n = p["port"]?.int64Value else { throw SourceError(file: file, field: "\(f).ports[\(k)].port", "expected a number") }
                let state = p["state"]?.stringValue.flatMap { s in RDMAPortState.allCases.first { $0.name == s } }
                var port = RDMAPort(number: Int(n), state: state, physState: p["phys_state"]?.stringValue ?? "<unknown>",
                                      rate: p["rate"]?.stringValue.flatMap { RDMARate(sysfs: $0) },
                                      linkLayer: p["link_layer"]?.stringValue.flatMap(RDMALinkLayer.init(rawValue:)) ?? .unspecified,
                                      lid: Int(p["lid"]?.int64Value ?? 0),
                                      transmittedBytes: p["xmit_bytes"]?.uint64Value, receivedBytes: p["rcv_bytes"]?.uint64Value)
                port.gids = (p["gids"]?.arrayValue ?? []).compactMap { g in
                    guard let i = g["index"]?.int64Value, let gid = g["gid"]?.stringValue else { return nil }
                    return RDMAGID(index: Int(i), gid: gid, type: g["type"]?.stringValue.map(gidType(token:)), netdev: g["netdev"]?.stringValue)
                }
                ports.append(port)
            }
            devices.append(RDMADevice(name: name, pciAddress: d["pci"]?.stringValue, nodeType: d["node_type"]?.stringValue ?? "unknown",
                                      firmware: d["firmware"]?.stringValue, nodeGUID: d["node_guid"]?.stringValue, ports: ports))
        }
        return RDMAInventory(devices: devices, unavailable: j["reason"]?.stringValue, source: "snapshot:" + (j["source"]?.stringValue ?? "unknown").split(separator: ":").last.map(String.init)!)
    }
}
