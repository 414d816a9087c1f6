import LinuxFiles
import PCITopology

/// hwloc XML (v1.x and v2, as `lstopo --of xml` writes it) as a topology: every PCI object
/// becomes a function whose config space holds what hwloc kept — vendor, device, class,
/// subsystem, revision, and for bridges their bus range — plus its OS devices. hwloc keeps no
/// raw config space, ACS, link width or BARs: capabilities are marked unknown (as for a 64-byte
/// dump), never absent. Kernel and CPU come from the file's `OSRelease`, `CPUVendor` and
/// `CPUFamilyNumber`, so verdicts follow the recorded machine's kernel.
public enum HwlocSource {
    public static func load(path: String) throws(SourceError) -> Topology {
        let bytes: [UInt8]
        switch FileIO.read(path, limit: 256 << 20) {
        case .success(let b): bytes = b
        case .failure(let e): throw SourceError(file: path, "cannot read: \(e)")
        }
        return try parse(bytes, path: path)
    }

    /// The file's bytes as a topology (`path` names it in errors).
    public static func parse(_ bytes: [UInt8], path: String) throws(SourceError) -> Topology {
        let root: XMLElement
        do { root = try XMLReader.parse(bytes) } catch { throw SourceError(file: path, line: error.line, error.message) }
        guard root.name == "topology" else {
            throw SourceError(file: path, line: root.line, "expected hwloc's <topology> root element, found <\(root.name)>")
        }
        if let v = root.attributes["version"], !v.hasPrefix("2.") {
            throw SourceError(file: path, line: root.line, "hwloc XML version \(v): p2ptop reads v1.x and v2.x")
        }
        var devices: [Device] = []
        var lines: [BDF: Int] = [:]
        var info: [String: String] = [:]
        var warnings: [String] = []
        try walk(root, path: path, numa: nil, into: &devices, lines: &lines, info: &info, warnings: &warnings)
        var host = HostInfo(kernelRelease: info["OSRelease"], hostname: info["HostName"])
        if let v = info["CPUVendor"] { host.cpuVendor = HostProbe.normalizeVendor(v) }
        host.cpuFamily = info["CPUFamilyNumber"].flatMap { Int($0) }
        var t = Topology(devices: devices, host: host, source: SourceInfo(kind: .hwloc, path: path, warnings: warnings))
        t.nvlinks = nvlinks(root, devices: devices)
        return t
    }

    /// Depth-first over objects; `info` collects the first value of each `<info name=…>`.
    /// A bus ID seen twice (hwloc's own test files move an HCA synthetically; lstopo shows
    /// both) is a warning naming both lines: p2ptop's model, like the kernel's, has one
    /// function per address, so the first is kept.
    /// `numa`: the NUMA node of the objects being walked — a NUMANode ancestor (v1.x), or a
    /// Package/Group whose nodeset holds exactly one node (v2) — given to the PCI functions below.
    static func walk(_ e: XMLElement, path: String, numa: Int?, cpus: String? = nil, into devices: inout [Device], lines: inout [BDF: Int], info: inout [String: String],
                     warnings: inout [String]) throws(SourceError) {
        for child in e.children {
            if child.name == "info", let k = child.attributes["name"], let v = child.attributes["value"], info[k] == nil { info[k] = v }
            guard child.name == "object" else { continue }
            var node = numa
            if child.attributes["type"] == "NUMANode", let i = child.attributes["os_index"].flatMap({ Int($0) }) { node = i }
            else if let set = child.attributes["nodeset"] { node = singleNode(set) }
            // The nearest ancestor's cpuset is the function's locality (lstopo draws it so).
            var local = cpus
            if child.attributes["pci_busid"] == nil, let set = child.attributes["cpuset"] { local = cpuList(set) }
            if let busid = child.attributes["pci_busid"] {
                var d = try device(child, busid: busid, path: path)
                d.sysfs?.numaNode = node
                d.sysfs?.localCPUs = local
                if let first = lines[d.bdf] {
                    let kept = devices.first { $0.bdf == d.bdf }.map { hex($0.vendorID, width: 4) + ":" + hex($0.deviceID, width: 4) } ?? "?"
                    warnings.append("\(path):\(child.line): pci_busid \(d.bdf) appears twice (first on line \(first)): kept the first (\(kept)), "
                                    + "not this one (\(hex(d.vendorID, width: 4)):\(hex(d.deviceID, width: 4))); one function per address")
                } else {
                    lines[d.bdf] = child.line
                    devices.append(d)
                }
            }
            try walk(child, path: path, numa: node, cpus: local, into: &devices, lines: &lines, info: &info, warnings: &warnings)
        }
    }

    /// hwloc's `NVLinkBandwidth` matrix (from its NVML backend: MB/s between the `nvmlN` OS
    /// devices of GPUs, and their CPUs) as NVLinks between GPU pairs. hwloc multiplies the
    /// links by the generation's rate: 20 000 MB/s a link for P100 (NVLink 1), 25 000 after.
    static func nvlinks(_ root: XMLElement, devices: [Device]) -> [NVLink] {
        var owner: [String: BDF] = [:]   // "OSDev:gp_index" → the PCI function it sits on
        func walk(_ e: XMLElement, _ pci: BDF?) {
            for c in e.children where c.name == "object" {
                let here = c.attributes["pci_busid"].flatMap { BDF($0) } ?? pci
                if c.attributes["type"] == "OSDev", let gp = c.attributes["gp_index"], let here { owner["OSDev:" + gp] = here }
                walk(c, here)
            }
        }
        walk(root, nil)
        var links: [NVLink] = []
        for m in root.children where m.name == "distances2hetero" && m.attributes["name"] == "NVLinkBandwidth" {
            guard let n = m.attributes["nbobjs"].flatMap({ Int($0) }), n > 1, n <= 4096 else { continue }
            let names = (m.children.first { $0.name == "indexes" }?.text ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
            let values = m.children.filter { $0.name == "u64values" }
                .flatMap { $0.text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).compactMap { UInt64($0) } }
            guard names.count == n, values.count >= n * n else { continue }
            for i in 0..<n {
                for j in (i + 1)..<n {
                    guard let a = owner[String(names[i])], let b = owner[String(names[j])], values[i * n + j] > 0 else { continue }
                    let bw = values[i * n + j]
                    let p100: Set<UInt16> = [0x15f7, 0x15f8, 0x15f9, 0x15fa]
                    let perLink: UInt64 = devices.first { $0.bdf == a }.map { p100.contains($0.deviceID) } == true || bw % 25_000 != 0 ? 20_000 : 25_000
                    // An absurd bandwidth (a file's 2^64) is as many links as a GPU can have, no more.
                    links.append(NVLink(from: a, target: b, targetClass: 0x030200, count: Int(min(UInt64(NVLink.maxCount), max(1, bw / perLink)))))
                }
            }
        }
        return links
    }

    /// The set bits of an hwloc bitmap: 32-bit hex words, most significant first, an empty
    /// word zero; nil when a word is not hex or the map is absurdly long.
    static func bits(_ mask: String) -> [Int]? {
        let words = mask.split(separator: ",", omittingEmptySubsequences: false).reversed()
        guard words.count <= 64 else { return nil }
        var bits: [Int] = []
        for (w, word) in words.enumerated() {
            let hex = word.hasPrefix("0x") ? word.dropFirst(2) : word
            guard let v = hex.isEmpty ? 0 : UInt32(hex, radix: 16) else { return nil }
            for b in 0..<32 where v & (1 << UInt32(b)) != 0 { bits.append(w * 32 + b) }
        }
        return bits
    }

    /// An hwloc bitmap (`0x000000ff,0xffffffff`: 32-bit words, most significant first) as the
    /// kernel's list format (`0-39`, `0-21,44-65`); nil when unreadable or empty.
    static func cpuList(_ mask: String) -> String? {
        guard let bits = bits(mask) else { return nil }
        guard var start = bits.first else { return nil }
        var ranges: [String] = [], previous = start
        for b in bits.dropFirst() + [Int.max] {
            if b == previous + 1 { previous = b; continue }
            ranges.append(start == previous ? "\(start)" : "\(start)-\(previous)")
            start = b; previous = b
        }
        return ranges.joined(separator: ",")
    }

    /// `0x00000002` → 1; `0x00000003,0xf0000000` (several nodes) → nil. Words are 32-bit hex,
    /// most significant first; an empty word is zero.
    static func singleNode(_ nodeset: String) -> Int? {
        guard let bits = bits(nodeset) else { return nil }
        return bits.count == 1 ? bits[0] : nil
    }

    /// `0604 [8086:3408] [0000:0000] 13`: class, vendor:device, subvendor:subdevice, revision.
    static func device(_ e: XMLElement, busid: String, path: String) throws(SourceError) -> Device {
        guard let bdf = BDF(busid) else { throw SourceError(file: path, line: e.line, "pci_busid '\(busid)': expected dddd:bb:dd.f") }
        let type = e.attributes["pci_type"] ?? ""
        let parts = type.split(separator: " ")
        func hex(_ s: Substring?) -> UInt16? { s.flatMap { UInt16($0, radix: 16) } }
        func pair(_ s: Substring?) -> (UInt16, UInt16)? {
            guard let s, s.hasPrefix("["), s.hasSuffix("]") else { return nil }
            let ab = s.dropFirst().dropLast().split(separator: ":")
            guard ab.count == 2, let a = hex(ab[0]), let b = hex(ab[1]) else { return nil }
            return (a, b)
        }
        guard parts.count >= 4, let classCode = hex(parts[0]), let ids = pair(parts[1]), let sub = pair(parts[2]), let rev = UInt8(parts[3], radix: 16) else {
            throw SourceError(file: path, line: e.line, "pci_type '\(type)': expected \"CCCC [vvvv:dddd] [ssss:ssss] rr\"")
        }
        let isBridge = e.attributes["type"] == "Bridge"
        var c = ConfigSpaceBuilder(size: 64, vendor: ids.0, device: ids.1, classCode: classCode, header: isBridge ? 1 : 0)
        c.bytes[8] = rev
        c.bytes[6] |= 0x10   // a capability list exists, beyond the 64 bytes hwloc kept: unknown, not absent
        if isBridge {
            // bridge_pci="0000:[04-04]": the secondary and subordinate buses.
            let range = e.attributes["bridge_pci"] ?? ""
            // The "]" looked for after the "[": "]0[" must be refused, not make a reversed range.
            guard let open = range.firstIndex(of: "["), let close = range[open...].firstIndex(of: "]"),
                  case let buses = range[range.index(after: open)..<close].split(separator: "-"), buses.count == 2,
                  let sec = UInt8(buses[0], radix: 16), let sub = UInt8(buses[1], radix: 16) else {
                throw SourceError(file: path, line: e.line, "bridge_pci '\(range)': expected dddd:[ss-ee]")
            }
            c.buses(primary: bdf.bus, secondary: sec, subordinate: sub)
        } else {
            c.w16(0x2c, sub.0); c.w16(0x2e, sub.1)
        }
        var facts = SysfsFacts()
        facts.osDevices = e.children.compactMap { o in
            guard o.name == "object", o.attributes["type"] == "OSDev", let name = o.attributes["name"] else { return nil }
            // osdev_type: 0 block, 1 gpu, 2 network, 3 openfabrics, 4 dma, 5 coproc.
            switch o.attributes["osdev_type"] {
            case "0": return OSDevice(kind: .block, name: name)
            case "1": return OSDevice(kind: .gpu, name: name)
            case "2": return OSDevice(kind: .net, name: name)
            case "3": return OSDevice(kind: .openfabrics, name: name)
            case "4": return OSDevice(kind: .dma, name: name)
            case "5": return OSDevice(kind: .coproc, name: name)
            default: return nil
            }
        }
        // pci_link_speed="15.75": GB/s, 0 when hwloc did not know it; a figure no PCIe link
        // reaches (x32 at 64 GT/s is 242 GB/s) or not a number is left out, not believed.
        if let text = e.attributes["pci_link_speed"], let gbps = Double(text.prefix(16)), gbps > 0, gbps <= 256 { facts.statedLinkGBps = gbps }
        return Device(bdf: bdf, config: c.config, sysfs: facts)
    }
}
