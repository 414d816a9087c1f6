import LinuxFiles
/// A lazy reader of the pci.ids database: vendors are found by binary search (the file is
/// sorted), the class section by a walk back from the end; lookups read only what they need.
/// libpci parses the whole file into a hash table (about 9 ms here, more than all of
/// lspci -n); this costs well under one. Results are the strings libpci's `pci_lookup_name` returns (checked in tests).
final class PCIIDs: @unchecked Sendable {
    /// The file, mapped read-only: only the pages a lookup touches are ever read.
    private let text: UnsafeBufferPointer<UInt8>
    private var vendorLine: [UInt16: Int] = [:]   // offset of the vendor's own line (-1: absent), cached
    private var classLine: [UInt8: Int] = [:]     // offset of "C xx" lines
    private var deviceLines: [UInt16: [UInt16: Int]] = [:]  // per vendor, built on first use

    static let searchPaths = ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids", "/usr/share/pci.ids"]

    init?(path: String? = nil) {
        let candidates = path.map { [$0] } ?? PCIIDs.searchPaths
        guard let mapped = candidates.lazy.compactMap({ FileIO.map($0) }).first else { return nil }
        text = mapped
        index()
    }

    deinit { FileIO.unmap(text) }

    /// Finds the class section by walking lines backwards from the end (it is the file's
    /// tail), and remembers where the vendor list ends.
    private func index() {
        do { let t = text
            var end = t.count
            while end > 0 {
                var start = end - 1
                if start > 0 && t[start] == 0x0a { start -= 1 }
                while start > 0 && t[start - 1] != 0x0a { start -= 1 }
                let c = t[start]
                if c == UInt8(ascii: "C"), start + 4 < t.count, t[start + 1] == 0x20, let cls = hex(t, start + 2, 2) {
                    classLine[UInt8(cls)] = start
                } else if c != 0x09 && c != UInt8(ascii: "#") && c != 0x0a && hex(t, start, 4) != nil {
                    vendorEnd = end
                    break
                }
                end = start
            }
        }
    }

    private var vendorEnd = 0

    /// The vendor list is sorted by ID: binary search over byte offsets, landing on the next
    /// vendor line after each probe.
    private func findVendor(_ v: UInt16) -> Int? {
        do { let t = text
            /// First vendor line starting at or after `from` (from is a line start), before `limit`.
            func nextVendor(_ from: Int, _ limit: Int) -> (offset: Int, id: Int, next: Int)? {
                var i = from
                while i < limit {
                    var e = i
                    while e < t.count && t[e] != 0x0a { e += 1 }
                    let c = t[i]
                    if c != 0x09 && c != UInt8(ascii: "#") && c != 0x0a, let id = hex(t, i, 4), i + 4 < t.count,
                       t[i + 4] == 0x20 || t[i + 4] == 0x09 {
                        return (i, id, e + 1)
                    }
                    i = e + 1
                }
                return nil
            }
            func lineStart(after p: Int) -> Int {
                var i = p
                while i < t.count && t[i] != 0x0a { i += 1 }
                return i + 1
            }
            var lo = 0, hi = vendorEnd
            while hi - lo > 8192 {
                let mid = lineStart(after: (lo + hi) / 2)
                guard let probe = nextVendor(mid, hi) else { hi = (lo + hi) / 2; continue }
                if probe.id == Int(v) { return probe.offset }
                if probe.id < Int(v) { lo = probe.next } else { hi = mid }
            }
            var i = lo
            while let probe = nextVendor(i, hi) {
                if probe.id == Int(v) { return probe.offset }
                if probe.id > Int(v) { return nil }
                i = probe.next
            }
            return nil
        }
    }

    private func vendorOffset(_ v: UInt16) -> Int? {
        if let cached = vendorLine[v] { return cached >= 0 ? cached : nil }
        let found = findVendor(v)
        vendorLine[v] = found ?? -1
        return found
    }

    private func hex(_ t: UnsafeBufferPointer<UInt8>, _ at: Int, _ digits: Int) -> Int? {
        guard at + digits <= t.count else { return nil }
        var v = 0
        for k in 0..<digits {
            let c = t[at + k]
            let d: Int
            switch c {
            case 0x30...0x39: d = Int(c) - 0x30
            case 0x61...0x66: d = Int(c) - 0x61 + 10
            case 0x41...0x46: d = Int(c) - 0x41 + 10
            default: return nil
            }
            v = v << 4 | d
        }
        return v
    }

    /// The name on the line at `offset` after `skip` characters of id, trimmed.
    private func name(at offset: Int, skip: Int) -> String {
        var s = offset + skip
        while s < text.count && (text[s] == 0x20 || text[s] == 0x09) { s += 1 }
        var e = s
        while e < text.count && text[e] != 0x0a { e += 1 }
        while e > s && (text[e - 1] == 0x20 || text[e - 1] == 0x0d) { e -= 1 }
        return String(decoding: text[s..<e], as: UTF8.self)
    }

    /// Walks the lines indented under the line at `start` with exactly `tabs` tabs, calling
    /// `match` on each; stops at the first line indented less.
    private func child(of start: Int, tabs: Int, digits: Int, id: Int) -> Int? {
        do { let t = text
            var i = start
            while i < t.count && t[i] != 0x0a { i += 1 }
            i += 1
            while i < t.count {
                var depth = 0
                while i + depth < t.count && t[i + depth] == 0x09 { depth += 1 }
                let isComment = i + depth < t.count && t[i + depth] == UInt8(ascii: "#")
                let isBlank = i + depth < t.count && t[i + depth] == 0x0a
                if !isComment && !isBlank {
                    if depth < tabs { return nil }
                    if depth == tabs, let v = hex(t, i + depth, digits), v == id { return i + depth }
                }
                while i < t.count && t[i] != 0x0a { i += 1 }
                i += 1
            }
            return nil
        }
    }

    func vendor(_ v: UInt16) -> String? { vendorOffset(v).map { name(at: $0, skip: 4) } }

    func device(vendor v: UInt16, device d: UInt16) -> String? {
        guard let start = vendorOffset(v) else { return nil }
        if deviceLines[v] == nil { deviceLines[v] = devices(under: start) }
        return deviceLines[v]![d].map { name(at: $0, skip: 4) }
    }

    /// One pass over a vendor's block: where each device line starts (first one wins).
    private func devices(under start: Int) -> [UInt16: Int] {
        do { let t = text
            var result: [UInt16: Int] = [:]
            var i = start
            while i < t.count && t[i] != 0x0a { i += 1 }
            i += 1
            while i < t.count {
                let c = t[i]
                if c != 0x09 && c != UInt8(ascii: "#") && c != 0x0a { break }   // next vendor
                if c == 0x09, i + 1 < t.count, t[i + 1] != 0x09, let id = hex(t, i + 1, 4), result[UInt16(id)] == nil {
                    result[UInt16(id)] = i + 1
                }
                while i < t.count && t[i] != 0x0a { i += 1 }
                i += 1
            }
            return result
        }
    }

    /// `Vendor Device`, `Vendor Device 1234` or `Device vvvv:dddd`, as libpci formats them.
    func vendorDevice(_ v: UInt16, _ d: UInt16) -> String {
        let vn = vendor(v)
        let dn = device(vendor: v, device: d)
        if let vn, let dn { return vn + " " + dn }
        if let vn { return vn + " Device " + hexString(d, 4) }
        return "Device " + hexString(v, 4) + ":" + hexString(d, 4)
    }

    /// Subclass name, else the base class name with the number, else `Class xxxx`.
    func className(_ code: UInt16) -> String {
        let base = UInt8(code >> 8)
        if let start = classLine[base] {
            if let sub = child(of: start, tabs: 1, digits: 2, id: Int(code & 0xff)) { return name(at: sub, skip: 2) }
            return name(at: start, skip: 4) + " [" + hexString(code, 4) + "]"
        }
        return "Class " + hexString(code, 4)
    }
}

private func hexString<T: BinaryInteger>(_ v: T, _ width: Int) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, width - s.count)) + s
}
