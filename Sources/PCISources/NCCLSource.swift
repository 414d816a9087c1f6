import LinuxFiles
import PCITopology

/// NCCL's topology XML (`NCCL_TOPO_FILE`, `NCCL_TOPO_DUMP_FILE`: `<system>` with `<cpu>`,
/// nested `<pci>`, `<gpu>`, `<nic>`/`<net>` and `<nvlink>`) as a topology.
///
/// NCCL states the nesting, not a PCI hierarchy: cloud files put functions of several PCI
/// domains under one switch, and their switches are placeholders (`ffff:ff:01.0`, vendor
/// `0xffff`). So the tree is the file's (`Topology(parents:)`), and each `<cpu>` becomes a
/// root complex of its own — a host bridge and one root port per element the CPU holds, in a
/// domain above any real one (0x20000 + the CPU's index) — so that the kernel's walk sees what
/// NCCL's rules see: one switch is PIX, several PXB, one CPU PHB, two CPUs SYS. Links come from
/// `link_speed`/`link_width`; ACS and BARs are not in NCCL's file (64-byte config space:
/// unknown, never none).
public enum NCCLSource {
    /// The first synthetic domain: `<cpu>` number i is the root complex of domain 0x20000 + i.
    public static let cpuDomainBase: UInt32 = 0x20000

    public static func load(path: String) throws(SourceError) -> Topology {
        let bytes: [UInt8]
        switch FileIO.read(path, limit: 64 << 20) {
        case .success(let b): bytes = b
        case .failure(let e): throw SourceError(file: path, "cannot read: \(e)")
        }
        return try parse(bytes, path: path)
    }

    struct State {
        var devices: [Device] = []
        var parents: [BDF: BDF] = [:]
        var lines: [BDF: Int] = [:]
        var warnings: [String] = []
        var nvlinks: [NVLink] = []
        var syntheticNICs = 0
    }

    public static func parse(_ bytes: [UInt8], path: String) throws(SourceError) -> Topology {
        let root: XMLElement
        do { root = try XMLReader.parse(bytes) } catch { throw SourceError(file: path, line: error.line, error.message) }
        if root.name == "graphs" {
            throw SourceError(file: path, line: root.line, "an NCCL graph file (<graphs>: ring and tree channels), not a topology: pass the <system> file (NCCL_TOPO_FILE)")
        }
        guard root.name == "system" else {
            throw SourceError(file: path, line: root.line, "expected NCCL's <system> root element, found <\(root.name)>")
        }
        var state = State()
        var host = HostInfo()
        host.kernelRelease = root.attributes["p2ptop_kernel"]   // p2ptop's own export keeps it
        let cpus = root.children.filter { $0.name == "cpu" }
        guard !cpus.isEmpty else { throw SourceError(file: path, line: root.line, "<system> holds no <cpu>: nothing to place") }
        for (index, cpu) in cpus.enumerated() {
            // No numaid: the CPU's index — unless p2ptop's own export says the node is unknown.
            let numa: Int? = cpu.attributes["p2ptop_numa"] == "unknown" ? nil : (cpu.attributes["numaid"].flatMap { Int($0) } ?? index)
            if host.cpuVendor == nil, let v = cpu.attributes["vendor"] { host.cpuVendor = HostProbe.normalizeVendor(v) }
            if host.cpuFamily == nil { host.cpuFamily = cpu.attributes["familyid"].flatMap { Int($0) } }
            let cpus = cpu.attributes["affinity"].flatMap { HwlocSource.cpuList($0) }
            let domain = cpuDomainBase + UInt32(index)
            // The root complex: a host bridge, then a root port per element under the CPU.
            let hb = BDF(domain: domain, bus: 0, device: 0, function: 0)
            var bridge = synthetic(hb, classCode: 0x0600, header: 0)
            // p2ptop's own export keeps the host bridge's IDs (NCCL ignores the attribute), so
            // that the kernel's allowlist decides again on reading back.
            if let ids = cpu.attributes["p2ptop_host_bridge"]?.split(separator: ":"), ids.count == 2,
               let v = UInt16(ids[0], radix: 16), let d = UInt16(ids[1], radix: 16) {
                bridge.w16(0, v); bridge.w16(2, d)
            }
            add(&state, bridge, bdf: hb, numa: numa, cpus: cpus, parent: nil, line: cpu.line,
                placeholder: "CPU \(index) root complex (NCCL's <cpu>" + (numa.map { ", NUMA node \($0)" } ?? "") + ")")
            var port = 0
            for child in cpu.children where child.name == "pci" || child.name == "nic" {
                port += 1
                guard port < 32 * 8 else { throw SourceError(file: path, line: child.line, "more than 255 elements under one <cpu>") }
                let rp = BDF(domain: domain, bus: 0, device: UInt8(1 + (port - 1) / 8), function: UInt8((port - 1) % 8))
                var config = synthetic(rp, classCode: 0x0604, header: 1)
                config.buses(primary: 0, secondary: UInt8(port), subordinate: UInt8(port))
                add(&state, config, bdf: rp, numa: numa, cpus: cpus, parent: nil, line: child.line,
                    placeholder: "CPU \(index) link (the root port NCCL does not name)")
                try element(child, parent: rp, numa: numa, cpus: cpus, cpuIndex: index, path: path, into: &state)
            }
        }
        let info = SourceInfo(kind: .nccl, path: path, privileged: false, warnings: state.warnings)
        var t = Topology(devices: state.devices, host: host, source: info, parents: state.parents)
        t.nvlinks = state.nvlinks
        return t
    }

    static func synthetic(_ b: BDF, classCode: UInt16, header: UInt8) -> ConfigSpaceBuilder {
        var c = ConfigSpaceBuilder(size: 64, vendor: 0xffff, device: 0xffff, classCode: classCode, header: header)
        c.bytes[6] |= 0x10   // a capability list the file does not hold: unknown, not absent
        return c
    }

    static func add(_ s: inout State, _ c: ConfigSpaceBuilder, bdf b: BDF, numa: Int?, cpus: String?, parent: BDF?, line: Int,
                    link: (speed: String, width: Int)? = nil, osDevices: [OSDevice] = [], placeholder: String? = nil) {
        var f = SysfsFacts()
        f.placeholder = placeholder
        f.numaNode = numa
        f.localCPUs = cpus
        if let link {
            f.currentLinkSpeed = link.speed; f.maxLinkSpeed = link.speed
            f.currentLinkWidth = link.width; f.maxLinkWidth = link.width
        }
        f.osDevices = osDevices
        s.devices.append(Device(bdf: b, config: c.config, sysfs: f))
        if let parent { s.parents[b] = parent }
        s.lines[b] = line
    }

    /// `16 GT/s`, `8 GT/s`, `32.0 GT/s PCIe`, `2.5 GT/s` → the kernel's `16.0 GT/s PCIe`; empty,
    /// `inf`, `nan` or an absurd figure (no PCIe link runs at 1 000 GT/s) → nil.
    static func speed(_ text: String?) -> String? {
        guard let text, let number = text.split(separator: " ").first, let gts = Double(number), gts.isFinite, gts > 0, gts < 1_000 else { return nil }
        let s = gts == gts.rounded() ? "\(Int(gts)).0" : "\(gts)"
        return s + " GT/s PCIe"
    }

    /// One `<pci>` (a function or a switch) or a CPU-level `<nic>`, and everything below it.
    static func element(_ e: XMLElement, parent: BDF, numa: Int?, cpus: String?, cpuIndex: Int, path: String, into s: inout State) throws(SourceError) {
        if e.name == "nic" {
            // A NIC NCCL knows only by its network name: a function with no PCI identity.
            s.syntheticNICs += 1
            let b = BDF(domain: cpuDomainBase + UInt32(cpuIndex), bus: 0xff, device: UInt8(min(31, s.syntheticNICs - 1)), function: 0)
            let nets = e.children.filter { $0.name == "net" }.compactMap { $0.attributes["name"] }.map { OSDevice(kind: .net, name: $0) }
            add(&s, synthetic(b, classCode: 0x0200, header: 0), bdf: b, numa: numa, cpus: cpus,
                parent: parent, line: e.line, osDevices: nets, placeholder: "NIC known to NCCL only by name")
            return
        }
        guard let busid = e.attributes["busid"], let bdf = BDF(busid) else {
            throw SourceError(file: path, line: e.line, "<pci busid='\(e.attributes["busid"] ?? "")'>: expected a bus ID like 0000:17:00.0")
        }
        func hex(_ key: String, _ digits: Int) throws(SourceError) -> UInt32? {
            guard let v = e.attributes[key], !v.isEmpty else { return nil }
            let text = v.hasPrefix("0x") ? String(v.dropFirst(2)) : v
            guard text.count <= digits, let n = UInt32(text, radix: 16) else {
                throw SourceError(file: path, line: e.line, "\(key)='\(v)': expected a hex number of at most \(digits) digits")
            }
            return n
        }
        let cls = try hex("class", 6)
        let classCode = UInt16((cls ?? 0xff_0000) >> 8)
        let isBridge = classCode >> 8 == 0x06 && classCode & 0xff == 0x04
        let vendor = UInt16(try hex("vendor", 4) ?? 0xffff), device = UInt16(try hex("device", 4) ?? 0xffff)
        // p2ptop's own export marks a switch's upstream port and a shared root port (with its
        // ACS Control): a PCIe port of that type, not a bare bridge.
        let portType: UInt8? = isBridge ? ["upstream": 5, "root": 4][e.attributes["p2ptop_port"] ?? ""] : nil
        let upstream = portType != nil
        var c = ConfigSpaceBuilder(size: upstream ? 4096 : 64, vendor: vendor, device: device, classCode: classCode, header: isBridge ? 1 : 0)
        if let portType { c.express(type: portType, capSpeed: 0, capWidth: 0, staSpeed: 0, staWidth: 0) }
        if portType != nil, let ctl = try hex("p2ptop_acs_ctl", 4) { c.acs(capability: ACSBits(rawValue: 0x7f), control: ACSBits(rawValue: UInt16(ctl))) }
        c.bytes[9] = UInt8((cls ?? 0) & 0xff)
        if !upstream { c.bytes[6] |= 0x10 }   // capabilities (ACS, the link's registers) are not in NCCL's file
        if let sv = try hex("subsystem_vendor", 4), let sd = try hex("subsystem_device", 4), !isBridge {
            c.w16(0x2c, UInt16(sv)); c.w16(0x2e, UInt16(sd))
        }
        if isBridge { c.buses(primary: bdf.bus, secondary: bdf.bus, subordinate: bdf.bus) }
        let width = e.attributes["link_width"].flatMap { Int($0) } ?? 0
        let link = speed(e.attributes["link_speed"]).flatMap { width > 0 ? ($0, width) : nil }
        var osDevices: [OSDevice] = []
        for nic in e.children where nic.name == "nic" {
            for net in nic.children where net.name == "net" {
                if let name = net.attributes["name"] { osDevices.append(OSDevice(kind: name.hasPrefix("mlx") || name.hasPrefix("ib") ? .openfabrics : .net, name: name)) }
            }
        }
        // The downstream port p2ptop's export names for an endpoint whose ACS redirects peer traffic.
        var parent = parent
        if let p = e.attributes["p2ptop_acs_port"].flatMap({ BDF($0) }), let ctl = try hex("p2ptop_acs_ctl", 4), s.lines[p] == nil {
            var port = ConfigSpaceBuilder(size: 4096, vendor: 0xffff, device: 0xffff, classCode: 0x0604, header: 1)
            port.buses(primary: p.bus, secondary: bdf.bus, subordinate: bdf.bus)
            port.express(type: 6, capSpeed: 0, capWidth: 0, staSpeed: 0, staWidth: 0)
            port.acs(capability: ACSBits(rawValue: 0x7f), control: ACSBits(rawValue: UInt16(ctl)))
            add(&s, port, bdf: p, numa: numa, cpus: cpus, parent: parent, line: e.line,
                placeholder: "downstream port with ACS redirect (p2ptop_acs_port)")
            parent = p
        }
        if let first = s.lines[bdf] {
            s.warnings.append("\(path):\(e.line): busid \(bdf) appears twice (first on line \(first)): kept the first; one function per address")
        } else {
            let placeholder: String? = vendor == 0xffff ? (isBridge ? "placeholder switch (NCCL's file: no real device)" : "placeholder (NCCL's file names no vendor or device)") : nil
            add(&s, c, bdf: bdf, numa: numa, cpus: cpus, parent: parent, line: e.line, link: link, osDevices: osDevices, placeholder: placeholder)
        }
        for gpu in e.children where gpu.name == "gpu" {
            for l in gpu.children where l.name == "nvlink" {
                guard let t = l.attributes["target"], let target = BDF(t) else {
                    throw SourceError(file: path, line: l.line, "<nvlink target='\(l.attributes["target"] ?? "")'>: expected a bus ID")
                }
                let count: Int
                if let text = l.attributes["count"] {
                    guard let n = Int(text), (1...NVLink.maxCount).contains(n) else {
                        throw SourceError(file: path, line: l.line, "<nvlink count='\(text.prefix(40))'>: expected a number of links from 1 to \(NVLink.maxCount)")
                    }
                    count = n
                } else {
                    count = 1
                }
                let tclass = l.attributes["tclass"].flatMap { UInt32($0.hasPrefix("0x") ? String($0.dropFirst(2)) : $0, radix: 16) }
                s.nvlinks.append(NVLink(from: bdf, target: target, targetClass: tclass, count: count))
            }
        }
        for child in e.children where child.name == "pci" {
            try element(child, parent: bdf, numa: numa, cpus: cpus, cpuIndex: cpuIndex, path: path, into: &s)
        }
    }
}
