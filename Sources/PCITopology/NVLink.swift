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

extension Topology {
    /// NVLinks between two GPUs (either direction), as nvidia-smi counts them; nil when none.
    public func nvlinkCount(_ a: BDF, _ b: BDF) -> Int? {
        guard a != b else { return nil }
        let n = nvlinks.filter { ($0.from == a && $0.target == b) || ($0.from == b && $0.target == a) }
        // A pair stated from both sides counts once (the larger of the two statements).
        let forward = n.filter { $0.from == a }.reduce(0) { $0 + $1.count }, backward = n.filter { $0.from == b }.reduce(0) { $0 + $1.count }
        let count = max(forward, backward)
        return count > 0 ? count : nil
    }

    /// GPUs whose NVLinks go to an NVSwitch (the target's class is 0x0680).
    public func throughNVSwitch(_ gpu: BDF) -> Bool {
        nvlinks.contains { $0.from == gpu && ($0.targetClass.map { $0 >> 8 == 0x0680 } ?? false) }
    }
}
