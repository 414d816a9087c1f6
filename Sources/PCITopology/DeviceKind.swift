/// What a function is, for humans and for aliases (`gpu0`, `nic1`, `nvme0`, `sw0`, `rp2`).
public enum DeviceKind: String, Hashable, Sendable, CaseIterable {
    case gpu, nic, nvme, accelerator, storage
    case hostBridge = "host_bridge"
    case rootPort = "root_port"
    case switchUpstream = "switch_upstream"
    case switchDownstream = "switch_downstream"
    case bridge, other
    /// A display that is not a compute GPU: a BMC's or an emulated VGA (ASPEED, Matrox G200,
    /// QEMU stdvga/Cirrus/QXL/virtio-gpu, ATI ES1000) or a CPU's integrated graphics. Named
    /// `vgaN`, so that `gpuN` counts GPUs as nvidia-smi does.
    case vga

    public static func classify(_ d: Device) -> DeviceKind {
        if d.headerType == 0 && d.classCode == 0x0600 { return .hostBridge }
        switch d.express?.portType {
        case .rootPort? where d.isBridge: return .rootPort
        case .upstreamPort?: return .switchUpstream
        case .downstreamPort?: return .switchDownstream
        default: break
        }
        switch d.classCode {
        case 0x0600: return .hostBridge
        case 0x0108: return .nvme
        case 0x0300, 0x0302, 0x0380: return isDisplayOnly(d) ? .vga : .gpu
        case 0x0b40: return .accelerator
        case 0x0c06: return .nic            // InfiniBand (a ConnectX-2 and older HCAs: serial bus class)
        default: break
        }
        switch d.baseClass {
        case 0x02: return .nic
        case 0x12: return .accelerator
        case 0x01: return .storage
        case 0x06: return .bridge
        default: return .other
        }
    }

    /// BMC and emulated display controllers (by vendor, or vendor:device), and graphics built
    /// into the CPU (Intel's at 00:02.0 on a root bus).
    static func isDisplayOnly(_ d: Device) -> Bool {
        switch d.vendorID {
        case 0x1a03, 0x102b, 0x1234, 0x1013, 0x15ad, 0x1414: return true      // ASPEED, Matrox, QEMU/Bochs, Cirrus, VMware, Hyper-V
        case 0x1b36: return d.deviceID == 0x0100                             // QXL
        case 0x1af4: return d.deviceID == 0x1050                             // virtio-gpu
        case 0x1002: return d.deviceID == 0x515e || d.deviceID == 0x5e59     // ATI ES1000 (server BMC graphics)
        case 0x19a2: return true                                             // Emulex/ServerEngines BMC (Pilot)
        case 0x8086: return d.bdf.bus == 0 && d.bdf.device == 0x02 && d.bdf.function == 0   // integrated graphics
        default: return false
        }
    }

    /// Alias prefix; nil for kinds that get no alias.
    public var aliasPrefix: String? {
        switch self {
        case .gpu: return "gpu"
        case .vga: return "vga"
        case .nic: return "nic"
        case .nvme: return "nvme"
        case .accelerator: return "acc"
        case .rootPort: return "rp"
        case .switchUpstream: return "sw"
        default: return nil
        }
    }

    /// The tag `p2ptop tree` prints.
    public var tag: String {
        switch self {
        case .gpu: return "GPU"
        case .vga: return "VGA"
        case .nic: return "NIC"
        case .nvme: return "NVMe"
        case .accelerator: return "accelerator"
        case .storage: return "storage"
        case .hostBridge: return "host bridge"
        case .rootPort: return "root port"
        case .switchUpstream: return "switch upstream port"
        case .switchDownstream: return "switch downstream port"
        case .bridge: return "bridge"
        case .other: return "other"
        }
    }

    /// An endpoint that can take part in P2P DMA (not a bridge of any sort).
    public var isEndpointKind: Bool {
        switch self {
        case .hostBridge, .rootPort, .switchUpstream, .switchDownstream, .bridge: return false
        default: return true
        }
    }
}
