import PCITopology

extension Device {
    /// The link as `16GT/s x16`, with the capability when trained below it.
    func linkSummary(style: Style, in t: Topology) -> String? {
        guard let l = t.link(of: self)?.link else {
            if let gbps = sysfs?.statedLinkGBps { return "\(format2(gbps)) GB/s" + style.dim(" (hwloc's pci_link_speed: no speed and width apart)") }
            if capabilities.coverage == .unreadable { return style.dim("link unknown (\(t.source.configUnreadableShort))") }
            return nil
        }
        guard let s = l.status else { return l.capability.text }
        if l.isDown { return style.dim("link down (cap \(l.capability.text))") }
        if let j = t.linkJudgement(self.bdf), j.isDowntrained { return style.warn("\(s.text) (downtrained from \(j.capability.text))") }
        if let j = t.linkJudgement(self.bdf), j.limitedByPartner { return s.text + style.dim(" (card \(j.device.text), slot \(j.partner!.text))") }
        return s.text
    }
}

