import PCITopology
import LinuxFiles

/// p2ptop's own snapshot: raw config bytes and every sysfs fact of every function, plus
/// kernel and CPU, so a machine captured today replays anywhere exactly as it was.
///
/// Schema `p2ptop.snapshot/1` (JSON):
/// `{"schema", "source": {"kind", "path", "privileged"}, "host": {"kernel", "cpu_vendor",
/// "cpu_family", "hostname", "facts": {…} | null, "rdma": {…} | null}, "devices": [{"bdf",
/// "config": "hex…", "sysfs": {…} | null}]}`
public enum Snapshot {
    public static let schema = "p2ptop.snapshot/1"

    public static func encode(_ t: Topology) -> JSON {
        let source: JSON = .object([
            ("kind", .string(t.source.kind.rawValue)),
            ("path", t.source.path.map(JSON.string) ?? .null),
            ("privileged", t.source.privileged.map(JSON.bool) ?? .null),
        ])
        let family: JSON = t.host.cpuFamily.map { .int(Int64($0)) } ?? .null
        let host: JSON = .object([
            ("kernel", t.host.kernelRelease.map(JSON.string) ?? .null),
            ("cpu_vendor", t.host.cpuVendor.map(JSON.string) ?? .null),
            ("cpu_family", family),
            ("hostname", t.host.hostname.map(JSON.string) ?? .null),
            ("facts", t.host.facts.map(HostJSON.facts) ?? .null),
            ("rdma", t.host.rdma.map(HostJSON.inventory) ?? .null),
        ])
        var pairs: [(String, JSON)] = [("schema", .string(schema)), ("source", source), ("host", host)]
        pairs.append(("devices", .array(t.devices.map(encodeDevice))))
        // What a source states beyond config space: its own tree (NCCL) and NVLinks.
        pairs.append(("parents", statedParents(t)))
        pairs.append(("nvlinks", .array(t.nvlinks.map(encodeNVLink))))
        return .object(pairs)
    }

    static func statedParents(_ t: Topology) -> JSON {
        guard t.statedParents else { return .null }
        var pairs: [(String, JSON)] = []
        for d in t.devices { if let p = t.parent(d.bdf) { pairs.append((d.bdf.description, .string(p.description))) } }
        return .object(pairs)
    }

    static func encodeNVLink(_ l: NVLink) -> JSON {
        let tclass: JSON = l.targetClass.map { .string("0x" + hex($0, width: 6)) } ?? .null
        return .object([("from", .string(l.from.description)), ("target", .string(l.target.description)),
                        ("target_class", tclass), ("count", .int(Int64(l.count)))])
    }

    static func encodeDevice(_ d: Device) -> JSON {
        .object([
            ("bdf", .string(d.bdf.description)),
            ("config", .string(d.config.bytes.map { hex($0, width: 2) }.joined())),
            ("sysfs", d.sysfs.map(encodeSysfs) ?? .null),
        ])
    }

    public static func encodeSysfs(_ f: SysfsFacts) -> JSON {
        func opt<T>(_ v: T?, _ make: (T) -> JSON) -> JSON { v.map(make) ?? .null }
        return .object([
            ("driver", opt(f.driver, JSON.string)),
            ("physfn", opt(f.physfn) { .string($0.description) }),
            ("numa_node", opt(f.numaNode) { .int(Int64($0)) }),
            ("local_cpulist", opt(f.localCPUs, JSON.string)),
            ("iommu_group", opt(f.iommuGroup) { .int(Int64($0)) }),
            ("iommu_type", opt(f.iommuType, JSON.string)),
            ("current_link_speed", opt(f.currentLinkSpeed, JSON.string)),
            ("current_link_width", opt(f.currentLinkWidth) { .int(Int64($0)) }),
            ("max_link_speed", opt(f.maxLinkSpeed, JSON.string)),
            ("max_link_width", opt(f.maxLinkWidth) { .int(Int64($0)) }),
            ("dma_mask_bits", opt(f.dmaMaskBits) { .int(Int64($0)) }),
            ("p2pmem", opt(f.p2pmem) { p in
                .object([("size", .uint(p.size)), ("available", .uint(p.available)), ("published", .bool(p.published))])
            }),
            ("resource_files", .array(f.resourceFiles.map { .int(Int64($0)) })),
            ("resource_wc_files", .array(f.resourceWCFiles.map { .int(Int64($0)) })),
            ("aer", .object(f.aerCounters.keys.sorted().map { file in
                (file, .object(f.aerCounters[file]!.keys.sorted().map { ($0, .uint(f.aerCounters[file]![$0]!)) }))
            })),
            ("os_devices", .array(f.osDevices.map { .object([("kind", .string($0.kind.rawValue)), ("name", .string($0.name))]) })),
            ("placeholder", opt(f.placeholder, JSON.string)),
            ("resources", opt(f.resources) { rs in
                .array(rs.map { .array([.string("0x" + String($0.base, radix: 16)), .uint($0.size), .string("0x" + String($0.flags, radix: 16))]) })
            }),
        ])
    }

    // MARK: - Reading

    public static func load(path: String) throws(SourceError) -> Topology {
        let bytes: [UInt8]
        switch FileIO.read(path) {
        case .success(let b): bytes = b
        case .failure(let e): throw SourceError(file: path, "cannot read snapshot: \(e)")
        }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) {
            throw SourceError(file: path, "empty file: expected a p2ptop snapshot (JSON with \"schema\": \"\(schema)\")")
        }
        let json: JSON
        do { json = try JSON.parse(bytes) } catch {
            throw SourceError(file: path, line: error.line, "invalid JSON at column \(error.column): \(error.message)")
        }
        return try decode(json, file: path)
    }

    public static func decode(_ json: JSON, file: String) throws(SourceError) -> Topology {
        guard case .object = json else { throw SourceError(file: file, "expected a JSON object at the top level") }
        guard let schemaValue = json["schema"]?.stringValue else {
            throw SourceError(file: file, field: "schema", "missing: expected \"\(schema)\"")
        }
        guard schemaValue == schema else {
            if schemaValue.hasPrefix("p2ptop.snapshot/") {
                throw SourceError(file: file, field: "schema", "unsupported version '\(schemaValue)': this p2ptop reads \"\(schema)\"")
            }
            throw SourceError(file: file, field: "schema", "'\(schemaValue)' is not a p2ptop snapshot: expected \"\(schema)\"")
        }
        guard let list = json["devices"]?.arrayValue else {
            throw SourceError(file: file, field: "devices", "missing or not an array")
        }
        var devices: [Device] = []
        for (i, entry) in list.enumerated() {
            let field = "devices[\(i)]"
            guard let text = entry["bdf"]?.stringValue, let bdf = BDF(text) else {
                throw SourceError(file: file, field: field + ".bdf", "expected a BDF like \"0000:00:1c.0\"")
            }
            guard let configText = entry["config"]?.stringValue, let config = decodeHex(configText),
                  config.count >= 64, config.count <= 4096 else {
                throw SourceError(file: file, field: field + ".config", "expected 64 to 4096 bytes as an even-length hex string")
            }
            var facts: SysfsFacts?
            if let s = entry["sysfs"], !s.isNull { facts = try decodeSysfs(s, file: file, field: field + ".sysfs") }
            devices.append(Device(bdf: bdf, config: ConfigSpace(config), sysfs: facts))
        }
        let h = json["host"]
        var host = HostInfo(kernelRelease: h?["kernel"]?.stringValue, cpuVendor: h?["cpu_vendor"]?.stringValue,
                            cpuFamily: h?["cpu_family"]?.int64Value.map { Int($0) }, hostname: h?["hostname"]?.stringValue)
        if let f = h?["facts"], !f.isNull { host.facts = try HostJSON.facts(from: f, file: file, field: "host.facts") }
        if let r = h?["rdma"], !r.isNull { host.rdma = try HostJSON.inventory(from: r, file: file, field: "host.rdma") }
        let privileged = json["source"]?["privileged"]?.boolValue
        var parents: [BDF: BDF]?
        if case .object(let pairs)? = json["parents"] {
            var stated: [BDF: BDF] = [:]
            for (child, parent) in pairs {
                guard let c = BDF(child), let p = parent.stringValue.flatMap(BDF.init) else {
                    throw SourceError(file: file, field: "parents.\(child)", "expected a BDF for a BDF")
                }
                stated[c] = p
            }
            parents = stated
        }
        var t = Topology(devices: devices, host: host, source: SourceInfo(kind: .snapshot, path: file, privileged: privileged), parents: parents)
        var links: [NVLink] = []
        for (i, l) in (json["nvlinks"]?.arrayValue ?? []).enumerated() {
            guard let from = l["from"]?.stringValue.flatMap(BDF.init), let target = l["target"]?.stringValue.flatMap(BDF.init),
                  let count = l["count"]?.int(in: 1...NVLink.maxCount) else {
                throw SourceError(file: file, field: "nvlinks[\(i)]", "expected {\"from\": BDF, \"target\": BDF, \"count\": 1…\(NVLink.maxCount)}")
            }
            let tclass = l["target_class"]?.stringValue.flatMap { UInt32($0.hasPrefix("0x") ? String($0.dropFirst(2)) : $0, radix: 16) }
            links.append(NVLink(from: from, target: target, targetClass: tclass, count: count))
        }
        t.nvlinks = links
        return t
    }

    static func decodeSysfs(_ s: JSON, file: String, field: String) throws(SourceError) -> SysfsFacts {
        guard case .object = s else { throw SourceError(file: file, field: field, "expected an object or null") }
        func int(_ key: String) throws(SourceError) -> Int? {
            guard let v = s[key], !v.isNull else { return nil }
            guard let i = v.int64Value else { throw SourceError(file: file, field: "\(field).\(key)", "expected an integer") }
            return Int(i)
        }
        func str(_ key: String) throws(SourceError) -> String? {
            guard let v = s[key], !v.isNull else { return nil }
            guard let t = v.stringValue else { throw SourceError(file: file, field: "\(field).\(key)", "expected a string") }
            return t
        }
        var f = SysfsFacts()
        f.driver = try str("driver")
        if let text = try str("physfn") {
            guard let pf = BDF(text) else { throw SourceError(file: file, field: "\(field).physfn", "expected a BDF like \"0000:3b:00.0\"") }
            f.physfn = pf
        }
        f.numaNode = try int("numa_node")
        f.localCPUs = try str("local_cpulist")
        f.iommuGroup = try int("iommu_group")
        f.iommuType = try str("iommu_type")
        f.currentLinkSpeed = try str("current_link_speed")
        f.currentLinkWidth = try int("current_link_width")
        f.maxLinkSpeed = try str("max_link_speed")
        f.maxLinkWidth = try int("max_link_width")
        if let bits = try int("dma_mask_bits") {
            guard (1...64).contains(bits) else { throw SourceError(file: file, field: "\(field).dma_mask_bits", "expected 1 to 64 bits, found \(bits)") }
            f.dmaMaskBits = bits
        }
        if let p = s["p2pmem"], !p.isNull {
            guard let size = p["size"]?.uint64Value, let available = p["available"]?.uint64Value,
                  let published = p["published"]?.boolValue else {
                throw SourceError(file: file, field: "\(field).p2pmem", "expected {\"size\", \"available\", \"published\"}")
            }
            f.p2pmem = P2PMem(size: size, available: available, published: published)
        }
        f.placeholder = try str("placeholder")
        f.resourceFiles = (s["resource_files"]?.arrayValue ?? []).compactMap { $0.int64Value.map { Int($0) } }
        f.resourceWCFiles = (s["resource_wc_files"]?.arrayValue ?? []).compactMap { $0.int64Value.map { Int($0) } }
        for (i, item) in (s["os_devices"]?.arrayValue ?? []).enumerated() {
            guard let kind = item["kind"]?.stringValue.flatMap(OSDevice.Kind.init(rawValue:)), let name = item["name"]?.stringValue else {
                throw SourceError(file: file, field: "\(field).os_devices[\(i)]",
                                  "expected {\"kind\": \(OSDevice.Kind.allCases.map(\.rawValue).joined(separator: "|")), \"name\"}")
            }
            f.osDevices.append(OSDevice(kind: kind, name: name))
        }
        if case .object(let files)? = s["aer"] {
            for (name, counters) in files {
                if case .object(let pairs) = counters {
                    // A counter named twice keeps its first value, as every other key here does
                    // (the fuzzer's duplicate "MisIDETLP" trapped in uniqueKeysWithValues).
                    f.aerCounters[name] = Dictionary(pairs.compactMap { k, v in v.uint64Value.map { (k, $0) } }, uniquingKeysWith: { first, _ in first })
                }
            }
        }
        if let r = s["resources"], !r.isNull {
            guard let list = r.arrayValue else { throw SourceError(file: file, field: "\(field).resources", "expected an array") }
            var resources: [OSResource] = []
            for (i, item) in list.enumerated() {
                guard let triple = item.arrayValue, triple.count == 3,
                      let base = parseHex(triple[0]), let size = triple[1].uint64Value, let flags = parseHex(triple[2]) else {
                    throw SourceError(file: file, field: "\(field).resources[\(i)]", "expected [\"0x<base>\", size, \"0x<flags>\"]")
                }
                resources.append(OSResource(base: base, size: size, flags: flags))
            }
            f.resources = resources
        }
        return f
    }

    static func parseHex(_ v: JSON) -> UInt64? {
        guard let t = v.stringValue, t.hasPrefix("0x") else { return nil }
        return UInt64(t.dropFirst(2), radix: 16)
    }

    static func decodeHex(_ s: String) -> [UInt8]? {
        let chars = Array(s.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard DumpReader.isHex(chars[i]), DumpReader.isHex(chars[i + 1]) else { return nil }
            out.append(DumpReader.hexValue(chars[i]) << 4 | DumpReader.hexValue(chars[i + 1]))
            i += 2
        }
        return out
    }

    /// Writes the snapshot to `path` atomically (a temporary file, then rename).
    public static func write(_ t: Topology, to path: String) throws(SourceError) {
        let text = encode(t).serialized(pretty: true) + "\n"
        if let e = FileIO.writeAtomically(path, Array(text.utf8)) {
            throw SourceError(file: path, "cannot write snapshot: \(e)")
        }
    }
}
