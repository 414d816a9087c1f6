/// A GPU's NVLinks to one target, as a source states them (NCCL's `<nvlink target count
/// tclass>`, hwloc's NVLink bandwidth matrix): `nvidia-smi topo -m` prints the pair as `NV#`.
public struct NVLink: Hashable, Sendable {
    public var from: BDF
    public var target: BDF
    /// The target's class (`0x030200` a GPU, `0x068000` an NVSwitch); nil when not given.
    public var targetClass: UInt32?
    /// Links bonded between the two.
    public var count: Int

    public init(from: BDF, target: BDF, targetClass: UInt32?, count: Int) {
        self.from = from; self.target = target; self.targetClass = targetClass; self.count = count
    }
}

extension NVLink {
    /// The most links one GPU has (NVLink 4, H100: 18); a source's count is checked against it.
    public static let maxCount = 18
}

/// NVLinks by pair and by device, built once when a topology's links are set.
public struct NVLinkIndex: Sendable {
    struct Pair: Hashable { var from: BDF; var target: BDF }
    /// Links stated from `from` to `target`, summed (each statement at most `NVLink.maxCount`).
    let stated: [Pair: Int]
    /// Devices at either end of a link to another device.
    public let linked: Set<BDF>
    /// GPUs with a link to an NVSwitch (the target's class is 0x0680).
    let toNVSwitch: Set<BDF>

    init(_ links: [NVLink]) {
        var stated: [Pair: Int] = [:], linked = Set<BDF>(), toNVSwitch = Set<BDF>()
        for l in links where l.from != l.target {
            // Saturating: a pair stated a thousand times over cannot overflow the sum.
            stated[Pair(from: l.from, target: l.target), default: 0] = min(1 << 20, stated[Pair(from: l.from, target: l.target), default: 0] + max(0, min(l.count, NVLink.maxCount)))
            linked.insert(l.from); linked.insert(l.target)
            if l.targetClass.map({ $0 >> 8 == 0x0680 }) ?? false { toNVSwitch.insert(l.from) }
        }
        self.stated = stated; self.linked = linked; self.toNVSwitch = toNVSwitch
    }
}

extension Topology {
    /// NVLinks between two GPUs (either direction), as nvidia-smi counts them; nil when none.
    /// A pair stated from both sides counts once (the larger of the two statements).
    public func nvlinkCount(_ a: BDF, _ b: BDF) -> Int? {
        guard a != b else { return nil }
        let count = max(nvlinkIndex.stated[.init(from: a, target: b)] ?? 0, nvlinkIndex.stated[.init(from: b, target: a)] ?? 0)
        return count > 0 ? count : nil
    }

    /// GPUs whose NVLinks go to an NVSwitch (the target's class is 0x0680).
    public func throughNVSwitch(_ gpu: BDF) -> Bool { nvlinkIndex.toNVSwitch.contains(gpu) }
}
