/// A lab fabric: a QEMU machine description kept as data. Every PCI device is placed by
/// address, so the guest's bus numbers are the same on every boot.
public struct LabFabric: Sendable {
    public var name: String
    public var summary: String
    public var devices: [LabDevice]

    /// NVMe drives by label (nvme0, nvme1, …), in the order they are declared.
    public var drives: [LabDevice.NVMe] { devices.compactMap { if case .nvme(let n) = $0 { return n } else { return nil } } }

    /// Drives whose reads QEMU throttles (the pinned-unbind experiment reads from one).
    public var slowDrives: [String] { drives.filter { $0.readBytesPerSecond != nil }.map(\.label) }

    public static let all: [LabFabric] = [.labSwitch, .labHosts]

    public static func named(_ name: String) -> LabFabric? { all.first { $0.name == name } }

    /// q35; a root port with an x3130 switch below it holding nvme0 and nvme1 (nvme1 has a
    /// 64 MiB CMB the kernel publishes as p2pmem); nvme2 on a root port of its own; two NVMe
    /// functions of one device (nvme3 with a 16 MiB CMB, nvme4) below a third root port, whose
    /// ACS decides that pair; a driverless ivshmem BAR; a virtio NIC for soft-RoCE.
    public static let labSwitch = LabFabric(
        name: "lab-switch",
        summary: "root port → x3130 switch → nvme0, nvme1 (64M CMB); nvme2 on its own root port; nvme3 (16M CMB) + nvme4 (reads throttled to 1 MiB/s) as two functions below a third; ivshmem BAR; virtio NIC",
        devices: [
            .rootPort(id: "rp1", slot: 0x10, chassis: 1),
            .switchUpstream(id: "usp1", bus: "rp1"),
            .switchDownstream(id: "dsp1", bus: "usp1", chassis: 2, slot: 1),
            .switchDownstream(id: "dsp2", bus: "usp1", chassis: 2, slot: 2),
            .nvme(.init(label: "nvme0", bus: "dsp1")),
            .nvme(.init(label: "nvme1", bus: "dsp2", cmbMiB: 64)),
            .rootPort(id: "rp2", slot: 0x11, chassis: 3),
            .nvme(.init(label: "nvme2", bus: "rp2")),
            .rootPort(id: "rp3", slot: 0x12, chassis: 4),
            .nvme(.init(label: "nvme3", bus: "rp3", function: 0, cmbMiB: 16, multifunction: true)),
            .nvme(.slow(.init(label: "nvme4", bus: "rp3", function: 1), bytesPerSecond: 1 << 20)),
            .ivshmem(label: "ivshmem0", slot: 0x05, sizeMiB: 64),
            .nic(label: "eth0", slot: 0x06),
        ])
}

extension LabFabric {
    /// Three host bridges: q35's own (root bus 00) and two `pxb-pcie` expander bridges (root
    /// buses 20 and 40). nvme0 and nvme1 (64M CMB) on two root ports of bus 00; below bus 20's
    /// root port at 20:00.0 an x3130 switch with nvme2 (16M CMB) and nvme3; bus 40 has no
    /// device at 40:00.0, its root port sits at 40:01.0 with two NVMe functions below it
    /// (nvme4 with a 16M CMB, nvme5). Pairs within one host bridge, across two, below one
    /// switch, and the "first device on the root bus" rule: under the IOMMU the kernel names
    /// 40:01.0 as bus 40's host bridge when it refuses nvme5 → nvme4.
    public static let labHosts = LabFabric(
        name: "lab-hosts",
        summary: "three host bridges: nvme0, nvme1 (64M CMB) on two root ports of bus 00; pxb-pcie bus 20: root port 20:00.0 → x3130 switch → nvme2 (16M CMB), nvme3; pxb-pcie bus 40: no 40:00.0, root port 40:01.0 → nvme4 (16M CMB) + nvme5 as two functions; virtio NIC",
        devices: [
            .rootPort(id: "rp1", slot: 0x10, chassis: 1),
            .nvme(.init(label: "nvme0", bus: "rp1")),
            .rootPort(id: "rp2", slot: 0x11, chassis: 2),
            .nvme(.init(label: "nvme1", bus: "rp2", cmbMiB: 64)),
            .expanderBridge(id: "pxb1", slot: 0x09, busNumber: 0x20),
            .rootPort(id: "rp3", slot: 0x00, chassis: 3, bus: "pxb1"),
            .switchUpstream(id: "usp1", bus: "rp3"),
            .switchDownstream(id: "dsp1", bus: "usp1", chassis: 4, slot: 1),
            .switchDownstream(id: "dsp2", bus: "usp1", chassis: 4, slot: 2),
            .nvme(.init(label: "nvme2", bus: "dsp1", cmbMiB: 16)),
            .nvme(.init(label: "nvme3", bus: "dsp2")),
            .expanderBridge(id: "pxb2", slot: 0x0a, busNumber: 0x40),
            .rootPort(id: "rp4", slot: 0x01, chassis: 5, bus: "pxb2"),
            .nvme(.init(label: "nvme4", bus: "rp4", function: 0, cmbMiB: 16, multifunction: true)),
            .nvme(.init(label: "nvme5", bus: "rp4", function: 1)),
            .nic(label: "eth0", slot: 0x06),
        ])
}

public enum LabDevice: Sendable {
    public struct NVMe: Sendable {
        public var label: String
        public var bus: String
        public var function: Int?
        public var cmbMiB: Int?
        public var multifunction = false
        /// The namespace's size; the first `patternMiB` of it hold a known pattern.
        public var sizeMiB = 64
        public var patternMiB = 32
        /// QEMU throttles the drive's reads to this rate (`throttling.bps-read`): an O_DIRECT read
        /// from it stays in flight, pins held, long enough to unbind a provider under it.
        public var readBytesPerSecond: Int?

        public init(label: String, bus: String, function: Int? = nil, cmbMiB: Int? = nil, multifunction: Bool = false) {
            self.label = label; self.bus = bus; self.function = function; self.cmbMiB = cmbMiB; self.multifunction = multifunction
        }

        /// The serial number QEMU gives it: how the guest finds which controller is which.
        public var serial: String { "p2ptop-" + label }

        public static func slow(_ n: NVMe, bytesPerSecond: Int) -> NVMe {
            var s = n
            s.readBytesPerSecond = bytesPerSecond
            return s
        }
    }

    /// A root port at slot.0 of a root bus: q35's (`pcie.0`, bus 00) or an expander bridge's
    /// (QEMU's root ports have an ACS capability).
    case rootPort(id: String, slot: Int, chassis: Int, bus: String = "pcie.0")
    /// A `pxb-pcie` expander bridge at 00:slot.0: one more host bridge, root bus `busNumber`.
    case expanderBridge(id: String, slot: Int, busNumber: Int)
    /// x3130 switch ports (no ACS capability).
    case switchUpstream(id: String, bus: String)
    case switchDownstream(id: String, bus: String, chassis: Int, slot: Int)
    case nvme(NVMe)
    /// A driverless 64-bit prefetchable BAR (BAR2) backed by host RAM.
    case ivshmem(label: String, slot: Int, sizeMiB: Int)
    /// A virtio NIC on QEMU's user network with `restrict=on`: nothing leaves the guest.
    case nic(label: String, slot: Int)
}

/// The CPU the guest sees: what the kernel's `cpu_supports_p2pdma` reads.
public enum LabCPU: String, Sendable, CaseIterable {
    case intel, amd

    /// QEMU's CPU model: an Intel family 6 model, or AMD EPYC (family 0x17, Zen).
    public var qemuModel: String { self == .intel ? "Nehalem" : "EPYC" }
}

/// One boot of a fabric: the CPU, whether an emulated IOMMU translates DMA (the kernel then
/// turns ACS redirect on where ports have ACS), and extra kernel arguments.
public struct LabVariant: Sendable {
    public var fabric: LabFabric
    public var cpu: LabCPU
    public var iommu: Bool
    public var append: [String]

    public init(fabric: LabFabric, cpu: LabCPU = .intel, iommu: Bool = false, append: [String] = []) {
        self.fabric = fabric; self.cpu = cpu; self.iommu = iommu; self.append = append
    }

    /// `lab-switch intel`, `lab-switch amd iommu`, `… + pci=…`.
    public var title: String {
        ([fabric.name, cpu.rawValue] + (iommu ? ["iommu"] : []) + append.map { "+ " + $0 }).joined(separator: " ")
    }

    /// The kernel arguments the variant itself needs.
    public var kernelArguments: [String] { (iommu ? ["intel_iommu=on"] : []) + append }
}

/// How QEMU is told to build a fabric: the device arguments, in order.
public enum QEMUFabric {
    /// `-device …` (and `-drive`, `-object`, `-netdev`) arguments for the fabric's devices.
    /// `disk(label)` is the backing file of each NVMe drive.
    public static func arguments(_ fabric: LabFabric, iommu: Bool, disk: (String) -> String) -> [String] {
        var a: [String] = []
        if iommu { a += ["-device", "intel-iommu"] }
        for d in fabric.devices {
            switch d {
            case .rootPort(let id, let slot, let chassis, let bus):
                a += ["-device", "pcie-root-port,id=\(id),bus=\(bus),chassis=\(chassis),slot=1,addr=\(hex(slot))"]
            case .expanderBridge(let id, let slot, let busNumber):
                a += ["-device", "pxb-pcie,id=\(id),bus_nr=\(busNumber),bus=pcie.0,addr=\(hex(slot))"]
            case .switchUpstream(let id, let bus):
                a += ["-device", "x3130-upstream,id=\(id),bus=\(bus)"]
            case .switchDownstream(let id, let bus, let chassis, let slot):
                a += ["-device", "xio3130-downstream,id=\(id),bus=\(bus),chassis=\(chassis),slot=\(slot)"]
            case .nvme(let n):
                a += ["-drive", "file=\(disk(n.label)),if=none,id=drive-\(n.label),format=raw" + (n.readBytesPerSecond.map { ",throttling.bps-read=\($0)" } ?? "")]
                var dev = "nvme,drive=drive-\(n.label),serial=\(n.serial),bus=\(n.bus)"
                if let f = n.function { dev += ",addr=0.\(f)" }
                if n.multifunction { dev += ",multifunction=on" }
                if let c = n.cmbMiB { dev += ",cmb_size_mb=\(c)" }
                a += ["-device", dev]
            case .ivshmem(let label, let slot, let size):
                a += ["-object", "memory-backend-ram,id=mem-\(label),size=\(size)M",
                      "-device", "ivshmem-plain,memdev=mem-\(label),bus=pcie.0,addr=\(hex(slot))"]
            case .nic(let label, let slot):
                // QEMU's user network with restrict=on: the guest can reach neither the host nor
                // anything beyond it (a bare hub instead stalls the NIC's transmit queue).
                a += ["-netdev", "user,id=net-\(label),restrict=on,ipv6=off",
                      "-device", "virtio-net-pci,netdev=net-\(label),bus=pcie.0,addr=\(hex(slot))"]
            }
        }
        return a
    }

    static func hex(_ v: Int) -> String { "0x" + String(v, radix: 16) }
}
