/// A link judged from both of its ends: what the device's LnkCap and its upstream port's LnkCap
/// allow together (the lower speed and the lower width, each on its own), and whether the link
/// trained below that. lspci's "(downgraded)" compares a function with its own LnkCap only, so
/// a x16 card in a slot wired x8 reads "downgraded" there; here it is limited by the slot.
public struct LinkJudgement: Hashable, Sendable {
    /// The device's own LnkCap.
    public var device: LinkState
    /// The upstream port's LnkCap, when there is one with a link.
    public var partner: LinkState?
    public var partnerPort: BDF?
    /// What both ends can do.
    public var capability: LinkState
    public var status: LinkState?

    /// Trained below what both ends can do, in speed or width.
    public var isDowntrained: Bool {
        guard let s = status, s.width > 0 else { return false }
        return s.speed < capability.speed || s.width < capability.width
    }

    /// The upstream port, not the device, caps the link (the slot, not the card).
    public var limitedByPartner: Bool {
        guard let p = partner else { return false }
        return p.speed < device.speed || p.width < device.width
    }
}

extension Topology {
    /// The link between an upstream-facing function (endpoint, switch upstream port) and the
    /// port above it, judged from both ends; nil for downstream-facing ports (they are judged
    /// from below) and functions without a link.
    public func linkJudgement(_ bdf: BDF) -> LinkJudgement? {
        guard let d = device(bdf), let l = link(of: d)?.link, !l.facesDownstream else { return nil }
        var j = LinkJudgement(device: l.capability, partner: nil, partnerPort: nil, capability: l.capability, status: l.status)
        if let up = parent(bdf), let u = device(up), let ul = link(of: u)?.link, ul.facesDownstream, ul.capability.width > 0 {
            j.partner = ul.capability
            j.partnerPort = up
            j.capability = LinkState(speed: min(l.capability.speed, ul.capability.speed), width: min(l.capability.width, ul.capability.width))
        }
        return j
    }
}
