import PCITopology
@testable import P2PDMA

/// Small synthetic machines for the decision procedure, one device at a time.
struct Fabric {
    var devices: [Device] = []
    var numa: [BDF: Int] = [:]

    static func bdf(_ s: String) -> BDF { BDF(s)! }

    /// The device the kernel inspects on a root bus (00.0), with the given IDs.
    mutating func hostBridge(_ at: String, vendor: UInt16 = 0x8086, device: UInt16 = 0x09a2) {
        var b = ConfigSpaceBuilder(size: 256, vendor: vendor, device: device, classCode: 0x0600)
        b.bytes[6] = 0
        add(at, b)
    }

    mutating func bridge(_ at: String, type: UInt8, sec: UInt8, sub: UInt8, acs: ACSBits? = nil, vendor: UInt16 = 0x10b5) {
        let bdf = Fabric.bdf(at)
        var b = ConfigSpaceBuilder(vendor: vendor, device: 0x9797, classCode: 0x0604, header: 1)
        b.buses(primary: bdf.bus, secondary: sec, subordinate: sub)
        b.express(type: type, capSpeed: 4, capWidth: 16, staSpeed: 4, staWidth: 16)
        if let acs { b.acs(capability: [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding, .egressControl], control: acs) }
        add(at, b)
    }

    mutating func rootPort(_ at: String, sec: UInt8, sub: UInt8? = nil, acs: ACSBits? = nil) {
        bridge(at, type: 4, sec: sec, sub: sub ?? sec, acs: acs, vendor: 0x8086)
    }
    mutating func upstream(_ at: String, sec: UInt8, sub: UInt8) { bridge(at, type: 5, sec: sec, sub: sub) }
    mutating func downstream(_ at: String, sec: UInt8, sub: UInt8? = nil, acs: ACSBits? = nil) {
        bridge(at, type: 6, sec: sec, sub: sub ?? sec, acs: acs)
    }

    mutating func endpoint(_ at: String, classCode: UInt16 = 0x0108, multifunction: Bool = false, acs: ACSBits? = nil, numa: Int? = nil) {
        var b = ConfigSpaceBuilder(vendor: 0x144d, device: 0xa80a, classCode: classCode, header: multifunction ? 0x80 : 0)
        if classCode == 0x0108 { b.bytes[9] = 2 }
        b.express(type: 0, capSpeed: 4, capWidth: 4, staSpeed: 4, staWidth: 4)
        if let acs { b.acs(capability: [.requestRedirect, .completionRedirect, .egressControl], control: acs) }
        add(at, b, numa: numa)
    }

    mutating func add(_ at: String, _ b: ConfigSpaceBuilder, numa: Int? = nil) {
        var facts: SysfsFacts? = nil
        if let numa { facts = SysfsFacts(); facts!.numaNode = numa }
        devices.append(Device(bdf: Fabric.bdf(at), config: b.config, sysfs: facts))
    }

    var topology: Topology { Topology(devices: devices, source: SourceInfo(kind: .dump)) }

    func analyzer(kernel: KernelVersion = .latest, cpu: CPUInfo = .unknown) -> P2PAnalyzer {
        P2PAnalyzer(topology: topology, kernel: kernel, cpu: cpu)
    }

    /// Host bridge 00.0, root port 00:01.0 → switch (01:00.0 up, 02:00.0 / 02:01.0 down) →
    /// NVMe 03:00.0 and 04:00.0; a second root port 00:02.0 with NVMe 05:00.0.
    static func switchBox(dspACS: ACSBits? = nil, hostVendor: UInt16 = 0x8086, hostDevice: UInt16 = 0x09a2) -> Fabric {
        var f = Fabric()
        f.hostBridge("0000:00:00.0", vendor: hostVendor, device: hostDevice)
        f.rootPort("0000:00:01.0", sec: 1, sub: 4)
        f.upstream("0000:01:00.0", sec: 2, sub: 4)
        f.downstream("0000:02:00.0", sec: 3, acs: dspACS)
        f.downstream("0000:02:01.0", sec: 4, acs: dspACS)
        f.endpoint("0000:03:00.0")
        f.endpoint("0000:04:00.0")
        f.rootPort("0000:00:02.0", sec: 5)
        f.endpoint("0000:05:00.0")
        return f
    }
}
