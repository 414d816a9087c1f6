import PCITopology

/// Reads `lspci -x` / `-xxx` / `-xxxx` output with the rules of libpci's dump back end
/// (device header lines `[dddd:]bb:dd.f …`, hex lines `off: xx xx …`, anything else ignored,
/// a blank line ends a device), but reports problems with the file and line number.
public enum DumpReader {
    public struct Entry: Sendable {
        public var bdf: BDF
        public var bytes: [UInt8]
        public var line: Int
    }

    public static func load(path: String) throws(SourceError) -> Topology {
        let bytes: [UInt8]
        switch FileIO.read(path) {
        case .success(let b): bytes = b
        case .failure(let e): throw SourceError(file: path, "cannot read dump: \(e)")
        }
        let entries = try parse(bytes, file: path)
        let devices = entries.map { Device(bdf: $0.bdf, config: ConfigSpace($0.bytes)) }
        return Topology(devices: devices, source: SourceInfo(kind: .dump, path: path))
    }

    public static func parse(_ data: [UInt8], file: String) throws(SourceError) -> [Entry] {
        if data.isEmpty {
            throw SourceError(file: file, "empty file: expected the output of 'lspci -x', '-xxx' or '-xxxx'")
        }
        var entries: [Entry] = []
        var current: Int? = nil          // index into entries of the device being filled
        var lineNumber = 0
        var start = 0
        while start < data.count {
            var end = start
            while end < data.count && data[end] != 0x0a { end += 1 }
            lineNumber += 1
            var line = data[start..<end]
            start = end + 1
            if line.last == 0x0d { line = line.dropLast() }
            if let bdf = header(line) {
                entries.append(Entry(bdf: bdf, bytes: [], line: lineNumber))
                current = entries.count - 1
                continue
            }
            if line.isEmpty { current = nil; continue }
            guard let index = current, let (offset, rest) = hexLinePrefix(line) else { continue }
            var pos = offset
            var z = rest.startIndex
            let r = rest
            while z + 1 < r.endIndex, isHex(r[z]), isHex(r[z + 1]), z + 2 == r.endIndex || r[z + 2] == 0x20 {
                if pos >= 4096 {
                    throw SourceError(file: file, line: lineNumber, "offset 0x\(hex(pos, width: 3)) is past 4096 bytes of config space")
                }
                if entries[index].bytes.count <= pos {
                    entries[index].bytes += [UInt8](repeating: 0xff, count: pos + 1 - entries[index].bytes.count)
                }
                entries[index].bytes[pos] = hexValue(r[z]) << 4 | hexValue(r[z + 1])
                pos += 1
                z += 2
                if z < r.endIndex { z += 1 }
            }
            if z < r.endIndex {
                let col = z - line.startIndex + 1
                throw SourceError(file: file, line: lineNumber,
                                  "malformed hex line at column \(col): expected two-digit hex bytes separated by single spaces")
            }
        }
        if entries.isEmpty {
            throw SourceError(file: file, "no device found: expected header lines like '00:1c.0 PCI bridge: …' followed by hex lines like '00: 86 80 …' (the output of 'lspci -x')")
        }
        for e in entries where e.bytes.count < 64 {
            let what = e.bytes.isEmpty ? "no config bytes" : "only \(e.bytes.count) bytes of config space"
            throw SourceError(file: file, line: e.line, "device \(e.bdf) has \(what); expected at least the 64-byte header (truncated dump?)")
        }
        return entries
    }

    static func isHex(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
    }

    static func hexValue(_ c: UInt8) -> UInt8 {
        c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10
    }

    static func hexNumber(_ s: ArraySlice<UInt8>) -> UInt32 {
        s.reduce(0) { $0 << 4 | UInt32(hexValue($1)) }
    }

    /// `bb:dd.f `, `dddd:bb:dd.f ` or `ddddd:bb:dd.f ` (libpci's accepted shapes).
    static func header(_ l: ArraySlice<UInt8>) -> BDF? {
        let b = l.startIndex
        for domainDigits in [0, 4, 5] {
            let prefix = domainDigits == 0 ? 0 : domainDigits + 1
            guard l.count >= prefix + 8 else { continue }
            let s = b + prefix
            if domainDigits > 0 {
                guard l[b..<(b + domainDigits)].allSatisfy(isHex), l[b + domainDigits] == UInt8(ascii: ":") else { continue }
            }
            guard isHex(l[s]), isHex(l[s + 1]), l[s + 2] == UInt8(ascii: ":"), isHex(l[s + 3]), isHex(l[s + 4]),
                  l[s + 5] == UInt8(ascii: "."), isHex(l[s + 6]), l[s + 7] == 0x20 else { continue }
            let device = hexNumber(l[(s + 3)...(s + 4)])
            let function = hexNumber(l[(s + 6)...(s + 6)])
            guard device < 32, function < 8 else { return nil }
            return BDF(domain: domainDigits > 0 ? hexNumber(l[b..<(b + domainDigits)]) : 0,
                       bus: UInt8(hexNumber(l[s...(s + 1)])), device: UInt8(device), function: UInt8(function))
        }
        return nil
    }

    /// `off: ` with 2 to 8 hex digits; returns the offset and the rest after `": "`.
    static func hexLinePrefix(_ l: ArraySlice<UInt8>) -> (Int, ArraySlice<UInt8>)? {
        var i = l.startIndex
        while i < l.endIndex && isHex(l[i]) { i += 1 }
        let digits = i - l.startIndex
        guard digits >= 2 && digits <= 8, i + 1 < l.endIndex, l[i] == UInt8(ascii: ":"), l[i + 1] == 0x20 else { return nil }
        return (Int(hexNumber(l[l.startIndex..<i])), l[(i + 2)...])
    }
}
