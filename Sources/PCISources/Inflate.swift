/// gzip (RFC 1952) / DEFLATE (RFC 1951) decompression, enough to read `/proc/config.gz`
/// without linking zlib. Stored, fixed-Huffman and dynamic-Huffman blocks; output capped.
enum Inflate {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// The members of a gzip file, decompressed and concatenated.
    static func gunzip(_ data: [UInt8], limit: Int = 64 << 20) throws(Failure) -> [UInt8] {
        var out: [UInt8] = []
        var pos = 0
        repeat {
            guard data.count - pos >= 18, data[pos] == 0x1f, data[pos + 1] == 0x8b else { throw Failure("not a gzip file (bad magic at byte \(pos))") }
            guard data[pos + 2] == 8 else { throw Failure("gzip method \(data[pos + 2]) is not deflate") }
            let flags = data[pos + 3]
            var p = pos + 10
            if flags & 4 != 0 {   // FEXTRA
                guard p + 2 <= data.count else { throw Failure("truncated gzip header") }
                p += 2 + (Int(data[p]) | Int(data[p + 1]) << 8)
            }
            for bit in [UInt8(8), 16] where flags & bit != 0 {   // FNAME, FCOMMENT: zero-terminated
                while p < data.count && data[p] != 0 { p += 1 }
                p += 1
            }
            if flags & 2 != 0 { p += 2 }   // FHCRC
            guard p < data.count else { throw Failure("truncated gzip header") }
            var s = BitStream(data, at: p)
            let start = out.count
            try inflate(&s, into: &out, limit: limit)
            // The member's trailer: CRC32 and ISIZE (length mod 2^32) of what it decompressed to.
            let trailer = s.byteAligned
            guard trailer + 8 <= data.count else { throw Failure("truncated gzip file (the member's CRC32 and size are missing)") }
            func le32(_ i: Int) -> UInt32 { UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24 }
            guard le32(trailer + 4) == UInt32(truncatingIfNeeded: out.count - start) else { throw Failure("gzip member's size does not match its data") }
            guard le32(trailer) == crc32(out[start...]) else { throw Failure("gzip member's CRC32 does not match its data") }
            pos = trailer + 8
        } while pos < data.count && data[pos] == 0x1f
        return out
    }

    /// CRC-32 (IEEE 802.3, reflected, as gzip uses it).
    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        crcTable.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }

    struct BitStream {
        let data: [UInt8]
        var pos: Int
        var bitBuffer: UInt32 = 0
        var bitCount = 0
        init(_ d: [UInt8], at p: Int) { data = d; pos = p }

        mutating func bits(_ n: Int) throws(Failure) -> Int {
            while bitCount < n {
                guard pos < data.count else { throw Failure("compressed data ends early") }
                bitBuffer |= UInt32(data[pos]) << UInt32(bitCount)
                pos += 1; bitCount += 8
            }
            let v = Int(bitBuffer & ((1 << UInt32(n)) - 1))
            bitBuffer >>= UInt32(n); bitCount -= n
            return v
        }

        /// Drops the partial byte; the position of the next whole byte.
        mutating func align() { bitBuffer = 0; bitCount = 0 }
        var byteAligned: Int { pos - bitCount / 8 }
    }

    /// Canonical Huffman code: symbol counts per length and symbols in code order.
    struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int] = []

        init(lengths: [Int]) throws(Failure) {
            for l in lengths { counts[l] += 1 }
            counts[0] = 0
            var left = 1
            for len in 1..<16 {
                left <<= 1; left -= counts[len]
                if left < 0 { throw Failure("over-subscribed Huffman code") }
            }
            var offsets = [Int](repeating: 0, count: 16)
            for len in 1..<15 { offsets[len + 1] = offsets[len] + counts[len] }
            symbols = [Int](repeating: 0, count: lengths.count)
            for (sym, l) in lengths.enumerated() where l != 0 { symbols[offsets[l]] = sym; offsets[l] += 1 }
        }

        func decode(_ s: inout BitStream) throws(Failure) -> Int {
            var code = 0, first = 0, index = 0
            for len in 1..<16 {
                code |= try s.bits(1)
                let count = counts[len]
                if code - count < first { return symbols[index + (code - first)] }
                index += count; first += count
                first <<= 1; code <<= 1
            }
            throw Failure("invalid Huffman code")
        }
    }

    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    static func inflate(_ s: inout BitStream, into out: inout [UInt8], limit: Int) throws(Failure) {
        var last = false
        while !last {
            last = try s.bits(1) == 1
            switch try s.bits(2) {
            case 0: try stored(&s, &out)
            case 1:
                let lit = try Huffman(lengths: (0..<288).map { $0 < 144 ? 8 : $0 < 256 ? 9 : $0 < 280 ? 7 : 8 })
                let dist = try Huffman(lengths: [Int](repeating: 5, count: 30))
                try codes(&s, &out, lit, dist, limit)
            case 2:
                let (lit, dist) = try dynamicTables(&s)
                try codes(&s, &out, lit, dist, limit)
            default: throw Failure("invalid block type 3")
            }
            if out.count > limit { throw Failure("more than \(limit >> 20) MiB decompressed") }
        }
    }

    static func stored(_ s: inout BitStream, _ out: inout [UInt8]) throws(Failure) {
        s.pos = s.byteAligned; s.align()
        guard s.pos + 4 <= s.data.count else { throw Failure("truncated stored block") }
        let len = Int(s.data[s.pos]) | Int(s.data[s.pos + 1]) << 8
        let nlen = Int(s.data[s.pos + 2]) | Int(s.data[s.pos + 3]) << 8
        guard len == (~nlen & 0xffff) else { throw Failure("stored block length check failed") }
        s.pos += 4
        guard s.pos + len <= s.data.count else { throw Failure("truncated stored block") }
        out += s.data[s.pos..<s.pos + len]
        s.pos += len
    }

    static func dynamicTables(_ s: inout BitStream) throws(Failure) -> (Huffman, Huffman) {
        let nlen = try s.bits(5) + 257, ndist = try s.bits(5) + 1, ncode = try s.bits(4) + 4
        guard nlen <= 286, ndist <= 30 else { throw Failure("bad dynamic block counts") }
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        var codeLengths = [Int](repeating: 0, count: 19)
        for i in 0..<ncode { codeLengths[order[i]] = try s.bits(3) }
        let lencode = try Huffman(lengths: codeLengths)
        var lengths: [Int] = []
        while lengths.count < nlen + ndist {
            let sym = try lencode.decode(&s)
            switch sym {
            case 0...15: lengths.append(sym)
            case 16:
                guard let prev = lengths.last else { throw Failure("repeat with no previous length") }
                lengths += [Int](repeating: prev, count: 3 + (try s.bits(2)))
            case 17: lengths += [Int](repeating: 0, count: 3 + (try s.bits(3)))
            default: lengths += [Int](repeating: 0, count: 11 + (try s.bits(7)))
            }
        }
        guard lengths.count == nlen + ndist, lengths[256] != 0 else { throw Failure("bad code lengths") }
        return (try Huffman(lengths: Array(lengths[0..<nlen])), try Huffman(lengths: Array(lengths[nlen...])))
    }

    static func codes(_ s: inout BitStream, _ out: inout [UInt8], _ lit: Huffman, _ dist: Huffman, _ limit: Int) throws(Failure) {
        while true {
            let sym = try lit.decode(&s)
            if sym < 256 { out.append(UInt8(sym)); continue }
            if sym == 256 { return }
            let li = sym - 257
            guard li < 29 else { throw Failure("bad length symbol") }
            let len = lengthBase[li] + (try s.bits(lengthExtra[li]))
            let di = try dist.decode(&s)
            guard di < 30 else { throw Failure("bad distance symbol") }
            let d = distBase[di] + (try s.bits(distExtra[di]))
            guard d <= out.count else { throw Failure("distance \(d) reaches before the output") }
            let start = out.count - d
            for k in 0..<len { out.append(out[start + k]) }
            if out.count > limit { throw Failure("more than \(limit >> 20) MiB decompressed") }
        }
    }
}

/// gzip decompression for callers outside this module (the fuzz targets): `limit` bounds the
/// output, so a small bomb cannot become gigabytes.
public enum Gzip {
    public struct Failure: Error, CustomStringConvertible { public var description: String }
    public static func decompress(_ data: [UInt8], limit: Int = 64 << 20) throws(Failure) -> [UInt8] {
        do { return try Inflate.gunzip(data, limit: limit) } catch { throw Failure(description: "\(error)") }
    }
}
