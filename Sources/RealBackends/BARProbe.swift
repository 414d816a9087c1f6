import KernelErrno
import P2PEngine
import PCITopology
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// One real BAR access as `p2ptop bar` asks for it: the policy's decision for this machine,
/// then — where it allows — an MMIO read bandwidth or the save/pattern/restore write test.
public struct BARProbe: Sendable {
    public var device: BDF
    public var bar: BAR
    public var write: Bool
    public var decision: BARAccessPolicy.Decision
    public var readGBps: Double?
    public var written: BARAccess.WriteResult?
    public var error: String?

    /// `host`: the running kernel's lockdown and iomem facts.
    public static func run(_ d: Device, bar b: BAR, write: Bool, size: Int, allowWrite: Bool, allowDriverBAR: Bool, host: HostFacts?) -> BARProbe {
        let facts = BARAccessPolicy.Facts(bar: b, driver: d.sysfs?.driver, hasResourceFile: d.sysfs?.resourceFiles.contains(b.index) ?? false,
                                          isRoot: geteuid() == 0, lockdown: host?.lockdown, iomemStrict: host?.iomemStrict ?? false)
        var probe = BARProbe(device: d.bdf, bar: b, write: write,
                             decision: BARAccessPolicy.check(facts, write: write, allowWrite: allowWrite, allowDriverBAR: allowDriverBAR))
        guard probe.decision == .allowed else { return probe }
        let bytes = max(4096, min(size, Int(b.size ?? 0)))
        do throws(EngineError) {
            if write {
                let w = try BARAccess.writeTest(device: d.bdf, bar: b.index, size: bytes, writeCombining: d.sysfs?.resourceWCFiles.contains(b.index) ?? false)
                probe.written = w
                if !w.verified || !w.restored {
                    probe.error = w.restored ? "the pattern did not read back (the BAR is not plain memory)" : "the original contents could not be restored"
                }
            } else {
                probe.readGBps = try BARAccess.readBandwidth(device: d.bdf, bar: b.index, size: bytes)
            }
        } catch { probe.error = error.description }
        return probe
    }

    /// The BAR `index` names (not the upper half of a 64-bit one), or the largest memory BAR.
    public static func choose(_ d: Device, index: Int?) -> Result<BAR, BARChoiceError> {
        if let i = index {
            guard let found = d.bars.first(where: { $0.index == i && !$0.isVirtual }) else {
                return .failure(BARChoiceError(message: "--bar \(i): \(d.bdf) has no BAR \(i) (it has \(d.bars.filter { $0.upperHalfOf == nil }.map { "\($0.index)" }.joined(separator: ", ")))"))
            }
            if let lower = found.upperHalfOf {
                return .failure(BARChoiceError(message: "--bar \(i): that is the upper half of \(d.bdf)'s 64-bit BAR \(lower); use --bar \(lower)"))
            }
            return .success(found)
        }
        guard let largest = d.bars.filter({ $0.space == .memory && $0.upperHalfOf == nil }).max(by: { ($0.size ?? 0) < ($1.size ?? 0) }) else {
            return .failure(BARChoiceError(message: "\(d.bdf) has no memory BAR"))
        }
        return .success(largest)
    }

    public struct BARChoiceError: Error, Sendable { public var message: String }
}
