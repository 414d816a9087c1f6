import PCITopology
import LinuxFiles

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
        var failure: SourceError?
        data.withUnsafeBufferPointer { t in
            var current: Int? = nil          // index into entries of the device being filled
            var lineNumber = 0
            var start = 0
            var bytes = [UInt8]()
            func flush() {
                if let c = current { entries[c].bytes = bytes }
            }
            while start < t.count {
                var end = start
                while end < t.count && t[end] != 0x0a { end += 1 }
                lineNumber += 1
                let lineStart = start
                var lineEnd = end
                start = end + 1
                if lineEnd > lineStart && t[lineEnd - 1] == 0x0d { lineEnd -= 1 }
                if let bdf = header(t, lineStart, lineEnd) {
                    flush()
                    entries.append(Entry(bdf: bdf, bytes: [], line: lineNumber))
                    current = entries.count - 1
                    bytes = []
                    bytes.reserveCapacity(256)
                    continue
                }
                if lineEnd == lineStart { flush(); current = nil; continue }
                guard current != nil, let (offset, rest) = hexLinePrefix(t, lineStart, lineEnd) else { continue }
                var pos = offset
                var z = rest
                while z + 1 < lineEnd, isHex(t[z]), isHex(t[z + 1]), z + 2 == lineEnd || t[z + 2] == 0x20 {
                    if pos >= 4096 {
                        failure = SourceError(file: file, line: lineNumber, "offset 0x\(hex(pos, width: 3)) is past 4096 bytes of config space")
                        return
                    }
                    if bytes.count <= pos { bytes += repeatElement(0xff, count: pos + 1 - bytes.count) }
                    bytes[pos] = hexValue(t[z]) << 4 | hexValue(t[z + 1])
                    pos += 1
                    z += 2
                    if z < lineEnd { z += 1 }
                }
                if z < lineEnd {
                    failure = SourceError(file: file, line: lineNumber,
                                          "malformed hex line at column \(z - lineStart + 1): expected two-digit hex bytes separated by single spaces")
                    return
                }
            }
            flush()
        }
        if let failure { throw failure }
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

    static func hexNumber(_ t: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> UInt32 {
        var v: UInt32 = 0
        for i in from..<to { v = v << 4 | UInt32(hexValue(t[i])) }
        return v
    }

    /// `bb:dd.f `, `dddd:bb:dd.f ` or `ddddd:bb:dd.f ` (libpci's accepted shapes).
    static func header(_ t: UnsafeBufferPointer<UInt8>, _ b: Int, _ e: Int) -> BDF? {
        for domainDigits in 0...5 where domainDigits == 0 || domainDigits >= 4 {
            let prefix = domainDigits == 0 ? 0 : domainDigits + 1
            guard e - b >= prefix + 8 else { continue }
            let s = b + prefix
            if domainDigits > 0 {
                var ok = t[b + domainDigits] == UInt8(ascii: ":")
                var k = b
                while ok && k < b + domainDigits { ok = isHex(t[k]); k += 1 }
                guard ok else { continue }
            }
            guard isHex(t[s]), isHex(t[s + 1]), t[s + 2] == UInt8(ascii: ":"), isHex(t[s + 3]), isHex(t[s + 4]),
                  t[s + 5] == UInt8(ascii: "."), isHex(t[s + 6]), t[s + 7] == 0x20 else { continue }
            let device = hexNumber(t, s + 3, s + 5)
            let function = hexNumber(t, s + 6, s + 7)
            guard device < 32, function < 8 else { return nil }
            return BDF(domain: domainDigits > 0 ? hexNumber(t, b, b + domainDigits) : 0,
                       bus: UInt8(hexNumber(t, s, s + 2)), device: UInt8(device), function: UInt8(function))
        }
        return nil
    }

    /// `off: ` with 2 to 8 hex digits; returns the offset and where the bytes start.
    static func hexLinePrefix(_ t: UnsafeBufferPointer<UInt8>, _ b: Int, _ e: Int) -> (Int, Int)? {
        var i = b
        while i < e && isHex(t[i]) { i += 1 }
        let digits = i - b
        guard digits >= 2 && digits <= 8, i + 1 < e, t[i] == UInt8(ascii: ":"), t[i + 1] == 0x20 else { return nil }
        return (Int(hexNumber(t, b, i)), i + 2)
    }
}
