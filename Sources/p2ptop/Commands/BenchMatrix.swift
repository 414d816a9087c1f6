import LinuxFiles
import ArgumentParser
import P2PDMA
import PCISources
import PCITopology

/// `p2ptop bench matrix`: the full verdict matrix on a generated server-sized tree.
struct BenchMatrix: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matrix", abstract: "Time the full P2P matrix on a generated topology (2 host bridges × root ports × switches × multi-function endpoints).", discussion: "Examples:\n  p2ptop bench matrix")

    @Option(help: "Endpoints to generate (a multiple of 64).")
    var endpoints: Int = 512

    @Option(help: "Repetitions (the median is reported).")
    var runs: Int = 5

    @Flag(help: "Print JSON (schema p2ptop.bench/1).")
    var json = false

    func validate() throws {
        if endpoints < 64 || endpoints % 64 != 0 || endpoints > 4096 { throw ValidationError("--endpoints must be a multiple of 64, 64…4096") }
    }

    func run() throws {
        let t = SyntheticServer.make(endpoints: endpoints)
        let a = P2PAnalyzer(topology: t, kernel: .latest, cpu: CPUInfo(vendor: "intel", family: 6))
        let eps = a.endpoints
        var compute: [Double] = [], render: [Double] = []
        var pairs = 0
        for _ in 0..<max(1, runs) {
            var n = 0
            compute.append(Monotonic.time { a.forEachPair(eps) { _ in n += 1 } })
            // The document as the command writes it: pairs computed as they are written.
            var text = ""
            render.append(Monotonic.time { text = MatrixJSON.render(a, devices: eps) })
            precondition(!text.isEmpty)
            pairs = n
        }
        let (c, r) = (Bench.median(compute), Bench.median(render))
        emit(json ? JSON.object([("schema", .string("p2ptop.bench/1")), ("bench", .string("matrix")),
                                 ("devices", .int(Int64(t.devices.count))), ("endpoints", .int(Int64(eps.count))),
                                 ("pairs", .int(Int64(pairs))), ("verdicts_median_s", .double(c)), ("json_median_s", .double(r))]).serialized(pretty: true)
                  : "\(eps.count) endpoints (\(t.devices.count) functions), \(pairs) ordered pairs: verdicts \(Bench.ms(c)) ms, JSON \(Bench.ms(r)) ms (median of \(runs))")
    }
}

/// A two-socket server shape: per host bridge 4 root ports, each with a switch of 8
/// downstream ports, each port holding one 8-function device.
enum SyntheticServer {
    static func make(endpoints: Int) -> Topology {
        var devices: [Device] = []
        var nextBus = 1
        let perHost = endpoints / 2
        for (h, rootBus) in [(0, 0x00), (1, 0x80)] {
            nextBus = rootBus + 1
            devices.append(device(BDF(bus: UInt8(rootBus), device: 0, function: 0), vendor: 0x8086, id: 0x09a2, cls: 0x0600, numa: h))
            let rootPorts = perHost / 64
            for rp in 0..<rootPorts {
                let rpBus = nextBus
                devices.append(bridge(BDF(bus: UInt8(rootBus), device: UInt8(rp + 1), function: 0), type: 4, sec: rpBus, sub: rpBus + 9, numa: h))
                devices.append(bridge(BDF(bus: UInt8(rpBus), device: 0, function: 0), type: 5, sec: rpBus + 1, sub: rpBus + 9, numa: h))
                for port in 0..<8 {
                    let epBus = rpBus + 2 + port
                    devices.append(bridge(BDF(bus: UInt8(rpBus + 1), device: UInt8(port), function: 0), type: 6, sec: epBus, sub: epBus, numa: h))
                    for fn in 0..<8 {
                        devices.append(device(BDF(bus: UInt8(epBus), device: 0, function: UInt8(fn)), vendor: 0x15b3, id: 0x101d,
                                              cls: fn % 2 == 0 ? 0x0207 : 0x0108, numa: h, multifunction: true))
                    }
                }
                nextBus = rpBus + 10
            }
        }
        return Topology(devices: devices, source: SourceInfo(kind: .fabric))
    }

    static func bridge(_ bdf: BDF, type: UInt8, sec: Int, sub: Int, numa: Int) -> Device {
        var b = ConfigSpaceBuilder(vendor: type == 4 ? 0x8086 : 0x1000, device: type == 4 ? 0x352a : 0xc030, classCode: 0x0604, header: 1)
        b.buses(primary: bdf.bus, secondary: UInt8(sec), subordinate: UInt8(sub))
        b.express(type: type, capSpeed: 4, capWidth: 16, staSpeed: 4, staWidth: 16)
        if type == 6 { b.acs(capability: [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding], control: []) }
        return Device(bdf: bdf, config: b.config, sysfs: facts(numa))
    }

    static func device(_ bdf: BDF, vendor: UInt16, id: UInt16, cls: UInt16, numa: Int, multifunction: Bool = false) -> Device {
        var b = ConfigSpaceBuilder(vendor: vendor, device: id, classCode: cls, header: multifunction ? 0x80 : 0)
        if cls != 0x0600 { b.express(type: 0, capSpeed: 4, capWidth: 16, staSpeed: 4, staWidth: 16) }
        return Device(bdf: bdf, config: b.config, sysfs: facts(numa))
    }

    static func facts(_ numa: Int) -> SysfsFacts { var f = SysfsFacts(); f.numaNode = numa; return f }
}
