import PCITopology

/// Whether p2ptop may touch a real BAR through `resourceN`, and if not, which rule says no.
/// Read-only by default; reads of non-prefetchable registers can have side effects
/// (read-to-clear status registers), so they are refused while a kernel driver owns the device.
public enum BARAccessPolicy {
    public struct Facts: Sendable {
        public var bar: BAR
        public var driver: String?
        public var hasResourceFile: Bool
        public var isRoot: Bool
        public var lockdown: String?      // "none", "integrity", "confidentiality", nil = unknown
        public var iomemStrict: Bool
        public init(bar: BAR, driver: String?, hasResourceFile: Bool, isRoot: Bool, lockdown: String?, iomemStrict: Bool) {
            self.bar = bar; self.driver = driver; self.hasResourceFile = hasResourceFile
            self.isRoot = isRoot; self.lockdown = lockdown; self.iomemStrict = iomemStrict
        }
    }

    public enum Decision: Equatable, Sendable {
        case allowed
        case refused(rule: String, reason: String)
    }

    static func ownedByDriver(_ f: Facts) -> Bool { f.driver != nil && f.driver != "vfio-pci" }

    /// `allowDriverBAR`: the user said a BAR a kernel driver owns may be read (a read of a
    /// device register can have side effects: virtio's ISR status clears when read).
    public static func check(_ f: Facts, write: Bool, allowWrite: Bool, allowDriverBAR: Bool = false) -> Decision {
        guard f.bar.space == .memory else { return .refused(rule: "memory-bar", reason: "BAR \(f.bar.index) is an I/O-port BAR: only memory BARs are mapped") }
        guard f.hasResourceFile else { return .refused(rule: "resource-file", reason: "no resource\(f.bar.index) file for this BAR") }
        guard f.isRoot else { return .refused(rule: "root", reason: "mmap of resource\(f.bar.index) needs root (the file is 0600)") }
        if let l = f.lockdown, l != "none" {
            return .refused(rule: "lockdown", reason: "kernel lockdown (\(l)) refuses PCI BAR access from user space (LOCKDOWN_PCI_ACCESS)")
        }
        if write {
            guard allowWrite else { return .refused(rule: "allow-write", reason: "writes need --allow-write") }
            if ownedByDriver(f) { return .refused(rule: "driver", reason: "driver \(f.driver!) owns the device: p2ptop never writes to a BAR a kernel driver uses (unbind it or bind vfio-pci)") }
            if !f.bar.prefetchable {
                return .refused(rule: "registers", reason: "BAR \(f.bar.index) is not prefetchable: it holds registers, and a pattern written there can reset the device or start DMA; only prefetchable (memory-like) BARs are written")
            }
            if f.iomemStrict { return .refused(rule: "iomem-strict", reason: "iomem=strict: the kernel refuses user mappings of busy regions") }
            return .allowed
        }
        if !f.bar.prefetchable && ownedByDriver(f) {
            return .refused(rule: "side-effects", reason: "BAR \(f.bar.index) is not prefetchable and driver \(f.driver!) owns the device: register reads can have side effects (read-to-clear)")
        }
        if ownedByDriver(f) && !allowDriverBAR {
            return .refused(rule: "driver", reason: "driver \(f.driver!) owns the device: a read of its BAR can have side effects (a status register that clears when read); --allow-driver-bar reads it anyway")
        }
        return .allowed
    }
}
