import TextSafety
import PCITopology

/// A machine as NCCL's topology file (`NCCL_TOPO_FILE`), for handing NCCL a corrected view.
///
/// One `<cpu>` per root complex (host bridge), with its NUMA node and CPUs; under it every
/// endpoint, nested in the PCIe switches (and conventional bridges) between it and its root
/// port — root ports and a switch's downstream ports are not NCCL nodes. GPUs carry `<gpu>` with
/// their `<nvlink>`s, NICs `<nic><net>` with their OS names. Attributes NCCL ignores keep what its
/// format cannot, for reading back: `p2ptop_host_bridge` (the host bridge's IDs, so the kernel's
/// allowlist still decides) on `<cpu>`; `p2ptop_port="upstream"` on a switch; and on an endpoint
/// whose downstream port redirects peer traffic, `p2ptop_acs_port`/`p2ptop_acs_ctl` (that port
/// and its ACS Control) — NCCL itself still sees one switch, as it should.
public enum NCCLWriter {
    public static func render(_ a: P2PAnalyzer) -> String {
        let t = a.topology
        // The kernel whose rules decided (NCCL ignores the attribute; p2ptop reads it back).
        var out = "<system version=\"1\"" + (t.host.kernelRelease.map { " p2ptop_kernel=\"\(escape($0))\"" } ?? "") + ">\n"
        // Root complexes in address order, each with its endpoints.
        var order: [HostBridge] = []
        var members: [HostBridge: [Device]] = [:]
        for d in a.endpoints {
            let hb = a.hostBridge(of: d.bdf)
            if members[hb] == nil { order.append(hb) }
            members[hb, default: []].append(d)
        }
        var gpuIndex = 0
        for (cpuIndex, hb) in order.enumerated() {
            let devices = members[hb]!
            let first = devices.first!
            // A root complex whose NUMA node the source does not know has no numaid: reading
            // back, its devices' node stays unknown rather than becoming a node of its own.
            var attrs = first.sysfs?.numaNode.map { "numaid=\"\($0)\"" } ?? "p2ptop_numa=\"unknown\""
            if let cpus = first.sysfs?.localCPUs, let mask = mask(cpus) { attrs += " affinity=\"\(mask)\"" }
            if let v = t.host.cpuVendor { attrs += " vendor=\"\(v == "amd" ? "AuthenticAMD" : v == "intel" ? "GenuineIntel" : v)\"" }
            if let f = t.host.cpuFamily { attrs += " familyid=\"\(f)\"" }
            if let v = hb.vendorID, let d = hb.deviceID { attrs += " p2ptop_host_bridge=\"\(hex(v, width: 4)):\(hex(d, width: 4))\"" }
            out += "  <cpu \(attrs)>\n"
            // The NCCL nodes above each endpoint: switches (by their upstream port), conventional
            // bridges, and a root port that more than one endpoint shares (a multi-function
            // device: its functions meet below it), outermost first.
            var below: [BDF: Int] = [:]
            for d in devices { for u in t.upstreamPath(d.bdf) { below[u, default: 0] += 1 } }
            func nodes(_ b: BDF) -> [BDF] {
                t.upstreamPath(b).compactMap { u -> BDF? in
                    switch t.kind(u) {
                    case .switchUpstream: return u
                    case .bridge: return t.device(u)?.isBridge == true ? u : nil
                    case .rootPort: return (below[u] ?? 0) > 1 ? u : nil
                    default: return nil
                    }
                }.reversed()
            }
            var tree: [BDF?: [BDF]] = [:]   // NCCL parent (nil: the CPU) → children, in order
            for d in devices {
                let chain = nodes(d.bdf)
                var parent: BDF? = nil
                for n in chain {
                    if !(tree[parent]?.contains(n) ?? false) { tree[parent, default: []].append(n) }
                    parent = n
                }
                tree[parent, default: []].append(d.bdf)
            }
            func element(_ b: BDF, _ indent: String) {
                guard let d = t.device(b) else { return }
                var e = "\(indent)<pci busid=\"\(b.description)\" class=\"0x\(hex(d.classCode, width: 4))\(hex(d.progIf, width: 2))\""
                e += " vendor=\"0x\(hex(d.vendorID, width: 4))\" device=\"0x\(hex(d.deviceID, width: 4))\""
                if let sv = d.subsystemVendorID, let sd = d.subsystemID { e += " subsystem_vendor=\"0x\(hex(sv, width: 4))\" subsystem_device=\"0x\(hex(sd, width: 4))\"" }
                if let l = t.link(of: d)?.link.status { e += " link_speed=\"\(l.speed.text.replacingGTs())\" link_width=\"\(l.width)\"" }
                if t.kind(b) == .switchUpstream { e += " p2ptop_port=\"upstream\"" }
                if t.kind(b) == .rootPort {
                    e += " p2ptop_port=\"root\""
                    if let acs = d.acs { e += " p2ptop_acs_ctl=\"0x\(hex(acs.control.rawValue, width: 4))\"" }
                }
                if !d.isBridge, let port = t.parent(b), t.kind(port) == .switchDownstream, let acs = t.device(port)?.acs,
                   !acs.control.intersection(.p2pRedirect).isEmpty {
                    e += " p2ptop_acs_port=\"\(port.description)\" p2ptop_acs_ctl=\"0x\(hex(acs.control.rawValue, width: 4))\""
                }
                let children = tree[b] ?? []
                let isGPU = t.kind(b) == .gpu, nets = (d.sysfs?.osDevices ?? []).filter { $0.kind == .net || $0.kind == .openfabrics }
                if children.isEmpty && !isGPU && nets.isEmpty { out += e + "/>\n"; return }
                out += e + ">\n"
                if isGPU {
                    let links = t.nvlinks.filter { $0.from == b }
                    out += "\(indent)  <gpu dev=\"\(gpuIndex)\"" + (links.isEmpty ? "/>\n" : ">\n")
                    gpuIndex += 1
                    for l in links {
                        out += "\(indent)    <nvlink target=\"\(l.target.description)\" count=\"\(l.count)\""
                            + (l.targetClass.map { " tclass=\"0x\(hex($0, width: 6))\"" } ?? "") + "/>\n"
                    }
                    if !links.isEmpty { out += "\(indent)  </gpu>\n" }
                }
                if !nets.isEmpty {
                    out += "\(indent)  <nic>\n" + nets.map { "\(indent)    <net name=\"\(escape($0.name))\"/>\n" }.joined() + "\(indent)  </nic>\n"
                }
                for c in children { element(c, indent + "  ") }
                out += "\(indent)</pci>\n"
            }
            for c in tree[nil] ?? [] { element(c, "    ") }
            out += "  </cpu>\n"
        }
        return out + "</system>\n"
    }

    /// `0-21,44-65` → hwloc/NCCL's mask (32-bit words, most significant first).
    static func mask(_ list: String) -> String? {
        var bits: [Int] = []
        for part in list.split(separator: ",") {
            let r = part.split(separator: "-").compactMap { Int($0) }
            guard let lo = r.first, let hi = r.last, lo <= hi, hi < 4096 else { return nil }
            bits += Array(lo...hi)
        }
        guard let top = bits.max() else { return nil }
        var words = [UInt32](repeating: 0, count: top / 32 + 1)
        for b in bits { words[b / 32] |= 1 << UInt32(b % 32) }
        return words.reversed().map { hex($0, width: 8) }.joined(separator: ",")
    }

    /// An attribute value from outside (a NIC's name, a kernel release): markup escaped; the
    /// characters a terminal obeys (DEL, C1, bidi marks) and tab/newline as character
    /// references; the C0 controls XML 1.0 cannot hold at all (ESC, BEL, NUL…) written as the
    /// visible text `\x1b` — the file stays well-formed and shows what was there.
    static func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            let v = u.value
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\t", "\n", "\r": out += "&#x" + String(v, radix: 16) + ";"
            default:
                if v < 0x20 {
                    out += "\\x" + (v < 0x10 ? "0" : "") + String(v, radix: 16)
                } else if TextSafety.isUnsafe(v) {
                    out += "&#x" + String(v, radix: 16) + ";"
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }
}

private extension String {
    /// `16GT/s` → `16 GT/s`, as NCCL writes link speeds.
    func replacingGTs() -> String {
        guard hasSuffix("GT/s") else { return self }
        return String(dropLast(4)) + " GT/s"
    }
}
