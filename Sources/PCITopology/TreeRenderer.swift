/// Draws the bus tree exactly as `lspci -t` does (same characters, same order), with a
/// caller-supplied label after each device (`lspci -tv` passes the vendor/device name).
public struct TreeRenderer {
    public var topology: Topology
    /// Text after `bb.f`; nil prints nothing (plain `lspci -t`). Receives the device.
    public var label: (Device) -> String?
    /// Narrower art for narrow terminals (not lspci's): no secondary-subordinate bus ranges,
    /// one dash where lspci draws several (`03.0--00.0` for `03.0-[83-8c]----00.0`).
    public var compact: Bool

    public init(topology: Topology, compact: Bool = false, label: @escaping (Device) -> String?) {
        self.topology = topology
        self.label = label
        self.compact = compact
    }

    /// The whole tree, one line per `\n`, like lspci's output.
    public func render() -> String {
        var out = ""
        var line: [UInt8] = []
        showBridge(owner: nil, line: &line, at: 0, out: &out, depth: 0)
        return out
    }

    // lspci keeps one line buffer; after each printed line every character but '+' and '|'
    // becomes a space and '+' becomes '|', which draws the vertical rules of the next lines.
    private func printIt(_ line: inout [UInt8], upTo p: Int, out: inout String) {
        out += String(decoding: line[0..<p], as: UTF8.self)
        out += "\n"
        for i in 0..<line.count {
            line[i] = (line[i] == UInt8(ascii: "+") || line[i] == UInt8(ascii: "|")) ? UInt8(ascii: "|") : UInt8(ascii: " ")
        }
    }

    private func put(_ s: String, _ line: inout [UInt8], at p: Int) -> Int {
        let bytes = Array(s.utf8)
        if line.count < p + bytes.count { line += [UInt8](repeating: UInt8(ascii: " "), count: p + bytes.count - line.count) }
        line.replaceSubrange(p..<(p + bytes.count), with: bytes)
        return p + bytes.count
    }

    private func showDevice(_ bdf: BDF, line: inout [UInt8], at start: Int, out: inout String, depth: Int) {
        guard let d = topology.device(bdf) else { return }
        var p = put(hex(bdf.device, width: 2) + "." + String(bdf.function, radix: 16), &line, at: start)
        if let b = d.bridge, depth < 64, compact {
            showBridge(owner: bdf, line: &line, at: p, out: &out, depth: depth + 1)
            return
        }
        if let b = d.bridge, depth < 64 {
            p = put(b.secondary == b.subordinate ? "-[\(hex(b.secondary, width: 2))]-"
                    : "-[\(hex(b.secondary, width: 2))-\(hex(b.subordinate, width: 2))]-", &line, at: p)
            showBridge(owner: bdf, line: &line, at: p, out: &out, depth: depth + 1)
            return
        }
        if let text = label(d) { p = put("  " + text, &line, at: p) }
        printIt(&line, upTo: p, out: &out)
    }

    private func showBus(owner: BDF?, bus: Topology.BusKey, line: inout [UInt8], at start: Int, out: inout String, depth: Int) {
        let devices = topology.devicesOnBus[Topology.OwnerBus(owner: owner, bus: bus)] ?? []
        var p = start
        if devices.isEmpty {
            printIt(&line, upTo: p, out: &out)
        } else if devices.count == 1 {
            p = put(compact ? "-" : "--", &line, at: p)
            showDevice(devices[0], line: &line, at: p, out: &out, depth: depth)
        } else {
            for (i, bdf) in devices.enumerated() {
                let q = put(i == devices.count - 1 ? "\\-" : "+-", &line, at: p)
                showDevice(bdf, line: &line, at: q, out: &out, depth: depth)
            }
        }
    }

    private func showBridge(owner: BDF?, line: inout [UInt8], at start: Int, out: inout String, depth: Int) {
        var p = put("-", &line, at: start)
        let buses = topology.busesByOwner[owner] ?? []
        if buses.count == 1 {
            if owner == nil { p = put("[\(hex(buses[0].domain, width: 4)):\(hex(buses[0].bus, width: 2))]-", &line, at: p) }
            showBus(owner: owner, bus: buses[0], line: &line, at: p, out: &out, depth: depth)
        } else {
            for (i, bus) in buses.enumerated() {
                let mark = i == buses.count - 1 ? "\\-" : "+-"
                let k = put("\(mark)[\(hex(bus.domain, width: 4)):\(hex(bus.bus, width: 2))]-", &line, at: p)
                showBus(owner: owner, bus: bus, line: &line, at: k, out: &out, depth: depth)
            }
        }
    }
}
