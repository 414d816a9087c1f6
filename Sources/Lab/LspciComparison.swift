import PCITopology

/// The topology experiment: `lspci -vv -D -n` inside the guest against p2ptop's own decoding
/// of the same machine (its snapshot): functions and IDs, memory and I/O regions, link status,
/// ACS control (which the kernel itself set under the IOMMU).
public enum LspciComparison {
    /// What lspci said of one function.
    public struct Function: Equatable, Sendable {
        public var bdf: String
        public var ids: String
        public var regions: [String] = []
        public var link: String?
        public var acsControl: String?
    }

    /// Parses `lspci -vv -D -n` text.
    public static func parse(_ text: String) -> [Function] {
        var out: [Function] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if let first = line.first, first != "\t", first != " " {
                let f = line.split(separator: " ")
                guard f.count >= 3, BDF(String(f[0])) != nil else { continue }
                out.append(Function(bdf: String(f[0]), ids: String(f[2])))
                continue
            }
            guard !out.isEmpty else { continue }
            let t = line.drop { $0 == "\t" || $0 == " " }
            if t.hasPrefix("Region "), let region = region(String(t)) {
                out[out.count - 1].regions.append(region)
            } else if t.hasPrefix("LnkSta:") {
                out[out.count - 1].link = linkStatus(String(t))
            } else if t.hasPrefix("ACSCtl:") {
                out[out.count - 1].acsControl = t.dropFirst("ACSCtl:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            }
        }
        return out
    }

    /// `Region 2: Memory at 800000000 (64-bit, prefetchable) [size=64M]` → `2 mem 0x800000000 64M`.
    static func region(_ t: String) -> String? {
        let parts = t.split(separator: " ")
        guard parts.count >= 5, let index = Int(parts[1].dropLast()) else { return nil }
        let kind: String
        let at: Substring
        if parts[2] == "Memory", parts[3] == "at" { kind = "mem"; at = parts[4] }
        else if parts[2] == "I/O", parts.count >= 6, parts[4] == "at" { kind = "io"; at = parts[5] }
        else { return nil }
        guard let address = UInt64(at, radix: 16), let sizeText = t.split(separator: "[").last(where: { $0.hasPrefix("size=") }) else { return nil }
        let size = sizeText.dropFirst(5).prefix { $0 != "]" }
        return "\(index) \(kind) 0x\(String(address, radix: 16)) \(size)"
    }

    /// `LnkSta: Speed 2.5GT/s (ok), Width x1 (ok)` → `2.5GT/s x1`.
    static func linkStatus(_ t: String) -> String? {
        guard let s = t.range(of: "Speed "), let w = t.range(of: "Width x") else { return nil }
        let speed = t[s.upperBound...].prefix { $0 != "," && $0 != " " }
        let width = t[w.upperBound...].prefix { $0.isNumber }
        return "\(speed) x\(width)"
    }

    /// lspci's `[size=…]`: the largest of K, M, G, T that divides the size, else bytes.

    /// The same facts from p2ptop's decoding.
    public static func functions(_ t: Topology) -> [Function] {
        t.devices.map { d in
            var f = Function(bdf: d.bdf.description, ids: hex4(d.vendorID) + ":" + hex4(d.deviceID))
            for b in d.bars where b.upperHalfOf == nil && !b.isVirtual && !b.disabled {
                guard let a = b.address, let s = b.size, s > 0 else { continue }
                f.regions.append("\(b.index) \(b.space == .memory ? "mem" : "io") 0x\(String(a, radix: 16)) \(ByteSize.text(s, .lspci))")
            }
            f.link = d.link?.status.map { "\($0.speed.text) x\($0.width)" }
            f.acsControl = d.acs?.control.lspciFlags
            return f
        }
    }

    static func hex4(_ v: UInt16) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 4 - s.count) + s
    }

    /// Four experiments: functions, regions, links, ACS control.
    public static func compare(_ t: Topology, lspci: String) -> [LabExperiment] {
        let theirs = parse(lspci)
        let ours = functions(t)
        func experiment(_ name: String, _ unit: String, _ facts: (Function) -> [String]) -> LabExperiment {
            let a = ours.flatMap { f in facts(f).map { f.bdf + " " + $0 } }
            let b = theirs.flatMap { f in facts(f).map { f.bdf + " " + $0 } }
            let missing = Set(b).subtracting(a).sorted(), extra = Set(a).subtracting(b).sorted()
            let detail = missing.isEmpty && extra.isEmpty ? "" :
                (missing.first.map { "lspci has \($0)" } ?? "") + (extra.first.map { (missing.isEmpty ? "" : "; ") + "p2ptop has \($0)" } ?? "")
            return LabExperiment(name: "topology: " + name, predicted: "\(a.count) \(unit)", observed: "\(b.count) \(unit)",
                                 agree: missing.isEmpty && extra.isEmpty && !b.isEmpty, detail: detail)
        }
        return [
            experiment("functions and IDs", "functions") { [$0.ids] },
            experiment("BARs", "regions") { $0.regions },
            experiment("link status", "links") { $0.link.map { [$0] } ?? [] },
            experiment("ACS control", "ACS ports") { $0.acsControl.map { [$0] } ?? [] },
        ]
    }
}
