import P2PDMA
import PCITopology

/// Every argument of a script checked before anything runs: numbers parse and are in range,
/// devices exist on the fabric, names refer to what earlier steps made. A bad script is one
/// line naming the file and line (exit 2), never a half-played story.
extension Scenario {
    /// Bounds: what the engine can hold and a demo can wait for.
    public static let maxBytes = TransferRunner.maxSize
    public static let maxPages = 1 << 20
    public static let maxWait = 60.0

    public func validate(on t: Topology) throws(ParseError) {
        var maps: Set<String> = [], pins: Set<String> = [], bufs: Set<String> = []
        for s in steps {
            func fail(_ message: String) -> ParseError { ParseError(file: file, line: s.line, message: message) }
            func device(_ key: String, hostAllowed: Bool = false) throws(ParseError) {
                guard let text = s.args[key] else { throw fail("\(s.action) needs \(key)=") }
                if hostAllowed && text == "host" { return }
                do { _ = try t.resolve(text) } catch { throw fail("\(key)=\(Self.shown(text)): \(error.message)") }
            }
            func bytes(_ key: String, max: Int) throws(ParseError) {
                guard let text = s.args[key] else { return }
                guard let n = Self.bytes(text) else { throw fail("\(key)=\(Self.shown(text)): expected a size like 64M, 1G or 65536") }
                guard n <= max else { throw fail("\(key)=\(Self.shown(text)): at most \(max >> 30) GiB") }
            }
            func count(_ key: String, _ range: ClosedRange<Int>) throws(ParseError) {
                guard let text = s.args[key] else { return }
                guard let n = Int(text), range.contains(n) else { throw fail("\(key)=\(Self.shown(text)): expected a whole number from \(range.lowerBound) to \(range.upperBound)") }
            }
            func named(_ what: String) throws(ParseError) -> String {
                guard let n = s.name else { throw fail("\(s.action) needs a \(what) name") }
                return n
            }
            func known(_ key: String, in set: Set<String>, _ what: String) throws(ParseError) {
                guard let v = s.args[key] ?? (key == "" ? s.name : nil) else { throw fail("\(s.action) needs \(key.isEmpty ? "a name" : key + "=")") }
                guard set.contains(v) else { throw fail("\(Self.shown(v)): no \(what) of that name made by an earlier step") }
            }
            try bytes("size", max: Self.maxBytes)
            try bytes("block", max: TransferRunner.maxWindow)
            try count("pages", 1...Self.maxPages)
            try count("offset", 0...Self.maxPages)
            try count("bar", 0...5)
            switch s.action {
            case "map":
                let kind = s.args["kind"] ?? "host"
                guard ["host", "p2pmem", "resource"].contains(kind) else { throw fail("kind=\(Self.shown(kind)): expected host, p2pmem or resource") }
                if kind != "host" { try device("device") }
                maps.insert(try named("map"))
            case "pin":
                try known("map", in: maps, "map")
                pins.insert(try named("pin"))
            case "unpin": try known("", in: pins, "pin"); pins.remove(s.name ?? "")
            case "dmamap": try known("pin", in: pins, "pin"); try device("client")
            case "transfer":
                try device("from", hostAllowed: true); try device("to", hostAllowed: true)
                if let via = s.args["via"], TransferMethod(rawValue: via) == nil {
                    throw fail("via=\(Self.shown(via)): expected \(TransferMethod.allCases.map(\.rawValue).joined(separator: ", "))")
                }
            case "export": try device("device"); bufs.insert(try named("buffer"))
            case "attach": try known("buf", in: bufs, "buffer"); try device("importer"); _ = try named("attachment")
            case "revoke": try known("", in: bufs, "buffer")
            case "release": try known("", in: bufs, "buffer"); bufs.remove(s.name ?? "")
            case "unmap": try known("", in: maps, "map"); maps.remove(s.name ?? "")
            case "unbind", "finish-unbind": try device("device")
            case "acs":
                try device("device")
                for b in (s.args["set"] ?? "").split(separator: ",") where !["RR", "CR", "EC", "SV", "UF", "NONE"].contains(b.uppercased()) {
                    throw fail("set=\(Self.shown(String(b))): ACS bits are RR, CR, EC, SV, UF or none")
                }
            case "verdict": try device("provider"); try device("client")
            case "wait":
                guard let secs = Double(s.name ?? ""), secs >= 0, secs <= Self.maxWait else {
                    throw fail("wait \(Self.shown(s.name ?? "")): expected seconds from 0 to \(Int(Self.maxWait))")
                }
            default: break
            }
        }
    }

    /// `64M`, `1G`, `65536`: bytes, without overflow (nil for anything else or ≤ 0).
    public static func bytes(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var t = text.uppercased(), m = 1
        if let u = t.last, let v = units[u] { m = v; t.removeLast() }
        guard let n = Int(t), n > 0 else { return nil }
        let (product, overflow) = n.multipliedReportingOverflow(by: m)
        return overflow ? nil : product
    }

    /// Input echoed in an error: control characters escaped, at most 40 characters.
    public static func shown(_ s: String) -> String {
        var out = ""
        for ch in s {
            if out.count >= 40 { return "'" + out + "…'" }
            if ch.isNewline || ch.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
                out += ch.unicodeScalars.map { "\\u{\(String($0.value, radix: 16))}" }.joined()
            } else { out.append(ch) }
        }
        return "'" + out + "'"
    }
}
