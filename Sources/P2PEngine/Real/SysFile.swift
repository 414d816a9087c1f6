#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Small readers for procfs/sysfs attributes under a root (`/` live, a fake tree in tests).
/// They never throw: an absent or unreadable file is nil (or an empty listing).
enum SysFile {
    static func join(_ root: String, _ rel: String) -> String { root.hasSuffix("/") ? root + rel : root + "/" + rel }

    /// The whole file (capped at 1 MiB), or nil.
    static func text(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while out.count < 1 << 20 {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// One-line attribute without its newline.
    static func attribute(_ path: String) -> String? { text(path)?.trimmingCharacters(in: "\n").trimmingCharacters() }

    /// The last path component of a symlink's target (`device` → `0000:3b:00.0`).
    static func linkName(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buf, buf.count - 1)
        guard n > 0 else { return nil }
        let target = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return target.split(separator: "/").last.map(String.init)
    }

    static func list(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let n = withUnsafePointer(to: e.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
            if n != "." && n != ".." { names.append(n) }
        }
        return names.sorted { $0.compare(numerically: $1) }
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.last == set { s.removeLast() }
        return String(s)
    }

    /// `port10` after `port9`: digit runs compare as numbers.
    func compare(numerically other: String) -> Bool {
        var a = Substring(self), b = Substring(other)
        while let x = a.first, let y = b.first {
            if x.isNumber && y.isNumber {
                let da = a.prefix { $0.isNumber }, db = b.prefix { $0.isNumber }
                if let na = Int(da), let nb = Int(db), na != nb { return na < nb }
                a = a.dropFirst(da.count); b = b.dropFirst(db.count)
            } else {
                if x != y { return x < y }
                a = a.dropFirst(); b = b.dropFirst()
            }
        }
        return a.isEmpty && !b.isEmpty
    }
}
