/// What a function is, for humans and for aliases (`gpu0`, `nic1`, `nvme0`, `sw0`, `rp2`).
public enum DeviceKind: String, Hashable, Sendable, CaseIterable {
    case gpu, nic, nvme, accelerator, storage
    case hostBridge = "host_bridge"
    case rootPort = "root_port"
    case switchUpstream = "switch_upstream"
    case switchDownstream = "switch_downstream"
    case bridge, other

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
        case 0x0300, 0x0302, 0x0380: return .gpu
        case 0x0b40: return .accelerator
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

    /// Alias prefix; nil for kinds that get no alias.
    public var aliasPrefix: String? {
        switch self {
        case .gpu: return "gpu"
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
