import PCITopology
import TextSafety

/// The bundled demo machines: real shapes, IDs and link widths (taken from the hwloc and
/// lspci fixtures of real servers), whose engine moves real bytes. The first is the default.
public enum DemoFabrics {
    public struct Info: Sendable {
        public var name: String
        public var description: String
        public var modelledOn: String
    }

    public static let all: [Info] = [
        Info(name: "icelake-gpu-switch",
             description: "Two-socket Xeon (Ice Lake-SP) GPU server: A100, ConnectX-6 and two NVMe under one Broadcom PEX88096 switch (nvme1 publishes a 256 MiB CMB as p2pmem); a second switch with ACS redirect on socket 1; an NVMe behind Intel VMD whose P2P to nvme1 the kernel refuses",
             modelledOn: "GPU boxes with PCIe switches (flux-sched-butte, hwloc 32em64t-2n8c2t); Ice Lake root-bus layout and 8086:09a2, allowlisted since 5.18"),
        Info(name: "workstation",
             description: "Single-socket desktop (Alder Lake class): RTX GPU with Resizable BAR, two NVMe and a 2.5GbE NIC, each on its own root port with ACS redirect; host bridge not allowlisted",
             modelledOn: "ml-alderlake-laptop-rtx3070ti-gl9755 (lspci fixture)"),
        Info(name: "epyc-mi25",
             description: "AMD EPYC 7401 (Naples, four dies = four host bridges): four Radeon Instinct MI25 behind their Vega switches, ConnectX-6 behind a PLX PEX 8747, SN200 NVMe; Zen CPU rule allows host-bridge P2P",
             modelledOn: "flux-sched-corona11 (hwloc fixture: LLNL Corona node)"),
        Info(name: "sapphire-h100",
             description: "Two-socket Xeon (Sapphire Rapids) HGX H100 server, PCIe Gen5: eight H100 SXM5 and eight ConnectX-7, one of each under each of eight Broadcom PEX890xx switches, a Gen4 NVMe beside the first GPU of each socket; the GPUs also meet on NVSwitch",
             modelledOn: "Azure ND H100 v5 NCCL topology (azhpc-images topology/ndv5-topo.xml: two sockets, four Gen5 x16 switches each, one H100 and one CX7 under each); IDs 10de:2330, 15b3:1021, 1000:c030"),
    ]

    public static var defaultName: String { all[0].name }

    public static func load(_ name: String) throws(SourceError) -> Topology {
        switch name {
        case "icelake-gpu-switch": return icelake()
        case "workstation": return workstation()
        case "epyc-mi25": return epyc()
        case "sapphire-h100": return sapphireH100()
        default:
            throw SourceError(file: "--fabric \(name)", "unknown fabric: expected one of \(all.map(\.name).joined(separator: ", ")) (p2ptop fabrics lists them)\(Nearest.hint(name, among: all.map(\.name)))")
        }
    }

    static let kernel = "6.19.0-p2ptop-demo"

    static func icelake() -> Topology {
        var f = FabricBuilder()
        let noRedirect: ACSBits = [.sourceValidation]
        // Socket 0, IIO stack on root bus 0x16: root port → PEX88096 → GPU, NIC, two NVMe.
        f.hostBridge("0000:16:00.0", vendor: 0x8086, device: 0x09a2, numa: 0, mmioBase: 0x2000_0000_0000)
        f.port("0000:16:02.0", type: 4, vendor: 0x8086, device: 0x347a, sec: 0x17, sub: 0x1c, gen: .g4, width: 16, acs: noRedirect, numa: 0)
        f.port("0000:17:00.0", type: 5, vendor: 0x1000, device: 0xc010, sec: 0x18, sub: 0x1c, gen: .g4, width: 16, numa: 0)
        for (i, bus) in [0x19, 0x1a, 0x1b, 0x1c].enumerated() {
            f.port("0000:18:0\(i).0", type: 6, vendor: 0x1000, device: 0xc010, sec: UInt8(bus), sub: UInt8(bus),
                   gen: .g4, width: i < 2 ? 16 : 4, acs: noRedirect, numa: 0)
        }
        f.endpoint("0000:19:00.0", vendor: 0x10de, device: 0x20f1, classCode: 0x0302, subsystem: (0x10de, 0x145f), gen: .g4, width: 16,
                   bars: [(0, 16 << 20, false), (1, 64 << 30, true), (3, 32 << 20, true)], driver: "nvidia", numa: 0)
        f.endpoint("0000:1a:00.0", vendor: 0x15b3, device: 0x101b, classCode: 0x0207, subsystem: (0x15b3, 0x0006), gen: .g4, width: 16,
                   bars: [(0, 32 << 20, true)], driver: "mlx5_core", numa: 0)
        f.endpoint("0000:1b:00.0", vendor: 0x144d, device: 0xa824, classCode: 0x0108, progIf: 2, subsystem: (0x144d, 0xa801), gen: .g4, width: 4,
                   bars: [(0, 32 << 10, false)], driver: "nvme", numa: 0)
        f.endpoint("0000:1c:00.0", vendor: 0x1de5, device: 0x3000, classCode: 0x0108, progIf: 2, gen: .g4, width: 4,
                   bars: [(0, 16 << 10, false), (2, 256 << 20, true)], driver: "nvme", numa: 0, p2pmem: (2, true))
        // Socket 1, root bus 0x97: a second switch whose first downstream port has ACS redirect on.
        f.hostBridge("0000:97:00.0", vendor: 0x8086, device: 0x09a2, numa: 1, mmioBase: 0x3000_0000_0000)
        f.port("0000:97:02.0", type: 4, vendor: 0x8086, device: 0x347a, sec: 0x98, sub: 0x9b, gen: .g4, width: 16, acs: noRedirect, numa: 1)
        f.port("0000:98:00.0", type: 5, vendor: 0x1000, device: 0xc010, sec: 0x99, sub: 0x9b, gen: .g4, width: 16, numa: 1)
        f.port("0000:99:00.0", type: 6, vendor: 0x1000, device: 0xc010, sec: 0x9a, sub: 0x9a, gen: .g4, width: 16,
               acs: [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding], numa: 1)
        f.port("0000:99:01.0", type: 6, vendor: 0x1000, device: 0xc010, sec: 0x9b, sub: 0x9b, gen: .g4, width: 16, acs: noRedirect, numa: 1)
        f.endpoint("0000:9a:00.0", vendor: 0x10de, device: 0x20f1, classCode: 0x0302, subsystem: (0x10de, 0x145f), gen: .g4, width: 16,
                   bars: [(0, 16 << 20, false), (1, 64 << 30, true), (3, 32 << 20, true)], driver: "nvidia", numa: 1)
        f.endpoint("0000:9b:00.0", vendor: 0x15b3, device: 0x101b, classCode: 0x0207, subsystem: (0x15b3, 0x0006), gen: .g4, width: 16,
                   bars: [(0, 32 << 20, true)], driver: "mlx5_core", numa: 1)
        // Intel VMD domain: its root bus starts with a VMD root port, not in any allowlist.
        f.port("10000:00:02.0", type: 4, vendor: 0x8086, device: 0x347a, sec: 0x01, sub: 0x01, gen: .g4, width: 4, numa: 1)
        f.endpoint("10000:01:00.0", vendor: 0x144d, device: 0xa824, classCode: 0x0108, progIf: 2, subsystem: (0x144d, 0xa801), gen: .g4, width: 4,
                   bars: [(0, 32 << 10, false)], driver: "nvme", numa: 1)
        return f.topology(name: "icelake-gpu-switch", kernel: kernel, cpuVendor: "intel", cpuFamily: 6)
    }

    static func workstation() -> Topology {
        var f = FabricBuilder()
        let redirect: ACSBits = [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding]
        f.hostBridge("0000:00:00.0", vendor: 0x8086, device: 0x4641, numa: 0, mmioBase: 0x40_0000_0000)
        f.port("0000:00:01.0", type: 4, vendor: 0x8086, device: 0x460d, sec: 1, sub: 1, gen: .g5, width: 16, acs: redirect, numa: 0)
        f.port("0000:00:06.0", type: 4, vendor: 0x8086, device: 0x464d, sec: 2, sub: 2, gen: .g4, width: 4, acs: redirect, numa: 0)
        f.port("0000:00:1c.0", type: 4, vendor: 0x8086, device: 0x51b8, sec: 3, sub: 3, gen: .g4, width: 4, acs: redirect, numa: 0)
        f.port("0000:00:1c.4", type: 4, vendor: 0x8086, device: 0x51bc, sec: 4, sub: 4, gen: .g3, width: 1, acs: redirect, numa: 0)
        f.endpoint("0000:01:00.0", vendor: 0x10de, device: 0x2684, classCode: 0x0300, gen: .g4, width: 16,
                   bars: [(0, 16 << 20, false), (1, 32 << 30, true), (3, 32 << 20, true)], driver: "nvidia", numa: 0,
                   rebar: (1, (28...35).map { UInt64(1) << UInt64($0) }), multifunction: true)
        f.endpoint("0000:02:00.0", vendor: 0x144d, device: 0xa80c, classCode: 0x0108, progIf: 2, gen: .g4, width: 4,
                   bars: [(0, 16 << 10, false)], driver: "nvme", numa: 0)
        f.endpoint("0000:03:00.0", vendor: 0x15b7, device: 0x5030, classCode: 0x0108, progIf: 2, gen: .g4, width: 4,
                   bars: [(0, 16 << 10, false)], driver: "nvme", numa: 0)
        f.endpoint("0000:04:00.0", vendor: 0x8086, device: 0x15f3, classCode: 0x0200, gen: .g3, width: 1,
                   bars: [(0, 1 << 20, false)], driver: "igc", numa: 0)
        return f.topology(name: "workstation", kernel: kernel, cpuVendor: "intel", cpuFamily: 6)
    }

    static func epyc() -> Topology {
        var f = FabricBuilder()
        f.iommuType = "DMA-FQ"
        // Die 0: SN200 NVMe and I350 on GPP bridges.
        f.hostBridge("0000:00:00.0", vendor: 0x1022, device: 0x1450, numa: 0, mmioBase: 0x1000_0000_0000)
        f.port("0000:00:01.1", type: 4, vendor: 0x1022, device: 0x1453, sec: 1, sub: 1, gen: .g3, width: 4, numa: 0)
        f.port("0000:00:01.3", type: 4, vendor: 0x1022, device: 0x1453, sec: 3, sub: 3, gen: .g2, width: 4, numa: 0)
        f.endpoint("0000:01:00.0", vendor: 0x1c58, device: 0x0023, classCode: 0x0108, progIf: 2, gen: .g3, width: 4,
                   bars: [(0, 16 << 10, false)], driver: "nvme", numa: 0)
        f.endpoint("0000:03:00.0", vendor: 0x8086, device: 0x1521, classCode: 0x0200, gen: .g2, width: 4,
                   bars: [(0, 1 << 20, false)], driver: "igb", numa: 0)
        // Dies 1, 2, 4 (buses 0x10, 0x20, 0x50, 0x70): an MI25 behind the Vega 10 internal switch.
        for (die, root) in [(1, 0x10), (2, 0x20), (5, 0x50), (7, 0x70)] {
            let r = String(root, radix: 16)
            func bus(_ off: Int) -> String { String(root + off, radix: 16) }
            f.hostBridge("0000:\(r):00.0", vendor: 0x1022, device: 0x1450, numa: die / 2, mmioBase: 0x1000_0000_0000 + UInt64(die) << 40)
            f.port("0000:\(r):01.1", type: 4, vendor: 0x1022, device: 0x1453, sec: UInt8(root + 1), sub: UInt8(root + 3), gen: .g3, width: 16, numa: die / 2)
            f.port("0000:\(bus(1)):00.0", type: 5, vendor: 0x1022, device: 0x1470, sec: UInt8(root + 2), sub: UInt8(root + 3), gen: .g3, width: 16, numa: die / 2)
            f.port("0000:\(bus(2)):00.0", type: 6, vendor: 0x1022, device: 0x1471, sec: UInt8(root + 3), sub: UInt8(root + 3), gen: .g3, width: 16, numa: die / 2)
            f.endpoint("0000:\(bus(3)):00.0", vendor: 0x1002, device: 0x6860, classCode: 0x0300, gen: .g3, width: 16,
                       bars: [(0, 16 << 30, true), (2, 2 << 20, true), (5, 512 << 10, false)], driver: "amdgpu", numa: die / 2,
                       rebar: (0, (28...34).map { UInt64(1) << UInt64($0) }))
        }
        // Die 3 (bus 0x30): ConnectX-6 behind a PLX PEX 8747.
        f.hostBridge("0000:30:00.0", vendor: 0x1022, device: 0x1450, numa: 1, mmioBase: 0x1000_0000_0000 + UInt64(3) << 40)
        f.port("0000:30:03.1", type: 4, vendor: 0x1022, device: 0x1453, sec: 0x31, sub: 0x34, gen: .g3, width: 16, numa: 1)
        f.port("0000:31:00.0", type: 5, vendor: 0x10b5, device: 0x8747, sec: 0x32, sub: 0x34, gen: .g3, width: 16, numa: 1)
        f.port("0000:32:08.0", type: 6, vendor: 0x10b5, device: 0x8747, sec: 0x33, sub: 0x33, gen: .g3, width: 16, numa: 1)
        f.endpoint("0000:33:00.0", vendor: 0x15b3, device: 0x101b, classCode: 0x0207, gen: .g3, width: 16,
                   bars: [(0, 32 << 20, true)], driver: "mlx5_core", numa: 1)
        return f.topology(name: "epyc-mi25", kernel: kernel, cpuVendor: "amd", cpuFamily: 0x17)
    }

    /// Each IIO stack is its own root bus with its host bridge (8086:09a2) and one root port;
    /// behind it a PEX890xx switch with the GPU, the NIC and (on the first stack of a socket)
    /// an NVMe drive, each on a downstream port with ACS redirect off. MPS 256, MRRS 512.
    static func sapphireH100() -> Topology {
        var f = FabricBuilder()
        let noRedirect: ACSBits = [.sourceValidation]
        let stacks: [(root: Int, numa: Int)] = [(0x15, 0), (0x37, 0), (0x48, 0), (0x59, 0), (0x97, 1), (0xa8, 1), (0xb9, 1), (0xca, 1)]
        var gpus: [BDF] = []
        for (i, stack) in zip(stacks.indices, stacks) {
            func bdf(_ busOffset: Int, _ dev: Int) -> String { "0000:" + hex(stack.root + busOffset) + ":" + hex(dev) + ".0" }
            let withNVMe = i % 4 == 0
            let last = UInt8(stack.root + (withNVMe ? 5 : 4))
            f.hostBridge(bdf(0, 0), vendor: 0x8086, device: 0x09a2, numa: stack.numa, mmioBase: 0x2000_0000_0000 + UInt64(i) << 40)
            f.port(bdf(0, 1), type: 4, vendor: 0x8086, device: 0x352a, sec: UInt8(stack.root + 1), sub: last, gen: .g5, width: 16, acs: noRedirect, numa: stack.numa)
            f.port(bdf(1, 0), type: 5, vendor: 0x1000, device: 0xc030, sec: UInt8(stack.root + 2), sub: last, gen: .g5, width: 16, numa: stack.numa)
            let widths: [UInt32] = withNVMe ? [16, 16, 4] : [16, 16]
            for n in widths.indices {
                f.port(bdf(2, n), type: 6, vendor: 0x1000, device: 0xc030, sec: UInt8(stack.root + 3 + n), sub: UInt8(stack.root + 3 + n),
                       gen: .g5, width: widths[n], acs: noRedirect, numa: stack.numa)
            }
            f.endpoint(bdf(3, 0), vendor: 0x10de, device: 0x2330, classCode: 0x0302, subsystem: (0x10de, 0x16c1), gen: .g5, width: 16,
                       bars: [(0, 16 << 20, false), (1, 128 << 30, true), (3, 32 << 20, true)], driver: "nvidia", numa: stack.numa)
            gpus.append(BDF(bdf(3, 0))!)
            f.endpoint(bdf(4, 0), vendor: 0x15b3, device: 0x1021, classCode: 0x0207, subsystem: (0x15b3, 0x0041), gen: .g5, width: 16,
                       bars: [(0, 32 << 20, true)], driver: "mlx5_core", numa: stack.numa)
            if withNVMe {
                f.endpoint(bdf(5, 0), vendor: 0x144d, device: 0xa824, classCode: 0x0108, progIf: 2, subsystem: (0x144d, 0xa801), gen: .g4, width: 4,
                           bars: [(0, 32 << 10, false)], driver: "nvme", numa: stack.numa)
            }
        }
        var t = f.topology(name: "sapphire-h100", kernel: kernel, cpuVendor: "intel", cpuFamily: 6)
        // The NVSwitch fabric on the HGX board: every GPU's 18 NVLink 4 links go to it. It is
        // not a PCI function of this machine, so it has no BDF of its own here.
        let nvswitch = BDF("ffff:ff:00.0")!
        t.nvlinks = gpus.map { NVLink(from: $0, target: nvswitch, targetClass: 0x068000, count: NVLink.maxCount) }
        return t
    }

    private static func hex(_ v: Int) -> String {
        let h = String(v, radix: 16)
        return h.count < 2 ? "0" + h : h
    }
}
