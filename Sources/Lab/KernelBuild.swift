import LinuxFiles
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A kernel image the lab can boot, with the configuration it was built with when known.
public struct LabKernel: Sendable {
    public var image: String
    public var config: String?
    public var version: String
    /// Seconds the build took (nil: reused from the cache, or brought by the user).
    public var buildSeconds: Double?

    public init(image: String, config: String?, version: String, buildSeconds: Double?) {
        self.image = image; self.config = config; self.version = version; self.buildSeconds = buildSeconds
    }
}

/// `p2ptop lab kernel`: builds the lab kernel from a source tree or tarball, once per source
/// version and fragment, under the user's cache directory.
public struct LabKernelBuild {
    /// Debian's `linux-source-6.12` (bookworm-backports) installs this tarball.
    public static let defaultSource = "/usr/src/linux-source-6.12.tar.xz"

    public var source: String
    public var cacheRoot: String
    public var jobs: Int

    public init(source: String = LabKernelBuild.defaultSource, cacheRoot: String = LabKernelBuild.defaultCacheRoot(), jobs: Int? = nil) {
        self.source = source
        self.cacheRoot = cacheRoot
        self.jobs = jobs ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// `$XDG_CACHE_HOME/p2ptop/lab`, else `~/.cache/p2ptop/lab`.
    public static func defaultCacheRoot() -> String {
        if let x = getenv("XDG_CACHE_HOME"), x.pointee != 0 { return String(cString: x) + "/p2ptop/lab" }
        let home = getenv("HOME").map { String(cString: $0) } ?? "/root"
        return home + "/.cache/p2ptop/lab"
    }

    /// The source tree to build in: `source` itself when it is a tree, else the tarball
    /// unpacked once under the cache.
    public func sourceTree(say: (String) -> Void) throws(LabError) -> String {
        var st = stat()
        guard stat(source, &st) == 0 else {
            throw LabError("\(source): no kernel source there; install it with apt-get install -t bookworm-backports linux-source-6.12 (README: Kernel lab), or pass --source DIR|TARBALL")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            guard access(source + "/Makefile", R_OK) == 0 else { throw LabError("\(source): not a kernel source tree (no Makefile)") }
            return source
        }
        var name = String(source.split(separator: "/").last ?? "linux")
        for ext in [".tar.xz", ".tar.gz", ".tar.bz2", ".tar.zst", ".tar"] where name.hasSuffix(ext) { name.removeLast(ext.count); break }
        let tree = cacheRoot + "/src/" + name
        let marker = tree + "/.p2ptop-unpacked"
        if access(marker, F_OK) == 0 { return tree }
        try makeDirectories(tree)
        say("unpacking \(source) into \(tree)")
        let rc = try Subprocess.run(["tar", "-xf", source, "-C", tree, "--strip-components=1"], output: .null)
        guard rc == 0, access(tree + "/Makefile", R_OK) == 0 else { throw LabError("tar could not unpack \(source) (exit \(rc))") }
        writeText(marker, "\(source)\n")
        return tree
    }

    /// `VERSION.PATCHLEVEL.SUBLEVEL[EXTRAVERSION]` from the tree's Makefile.
    public static func version(ofTree tree: String) throws(LabError) -> String {
        guard let text = readText(tree + "/Makefile") else { throw LabError("\(tree)/Makefile: cannot read") }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n").prefix(12) {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: " \t") }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
            if parts.count == 1, line.hasPrefix("EXTRAVERSION") { fields["EXTRAVERSION"] = "" }
        }
        guard let v = fields["VERSION"], let p = fields["PATCHLEVEL"], let s = fields["SUBLEVEL"], !v.isEmpty else {
            throw LabError("\(tree)/Makefile: expected VERSION, PATCHLEVEL and SUBLEVEL in its first lines")
        }
        return "\(v).\(p).\(s)\(fields["EXTRAVERSION"] ?? "")"
    }

    public func outputDirectory(key: String) -> String { cacheRoot + "/kernel-" + key }

    /// The cached kernel for this source, if it was built already.
    public func cached(version: String) -> LabKernel? {
        let dir = outputDirectory(key: LabKernelConfig.cacheKey(sourceVersion: version))
        guard access(dir + "/bzImage", R_OK) == 0 else { return nil }
        return LabKernel(image: dir + "/bzImage", config: dir + "/config", version: version, buildSeconds: nil)
    }

    /// Builds (or reuses) the lab kernel. `progress` gets one-line status texts.
    public func build(force: Bool = false, progress: (BuildProgress) -> Void) throws(LabError) -> LabKernel {
        let tree = try sourceTree { progress(.message($0)) }
        let version = try Self.version(ofTree: tree)
        if !force, let k = cached(version: version) { return k }
        let key = LabKernelConfig.cacheKey(sourceVersion: version)
        let build = cacheRoot + "/build-" + key
        try makeDirectories(build)
        let log = build + "/make.log"
        let configured = build + "/.p2ptop-configured"
        if access(configured, F_OK) != 0 || force {
            progress(.message("configuring \(version): tinyconfig + the lab fragment (\(LabKernelConfig.requested.count) options)"))
            writeText(build + "/p2ptop.fragment", LabKernelConfig.fragment)
            try make(tree, build, ["tinyconfig"], log: log)
            guard let base = readText(build + "/.config") else { throw LabError("\(build)/.config: tinyconfig wrote none") }
            writeText(build + "/.config", base + LabKernelConfig.fragment)
            try make(tree, build, ["olddefconfig"], log: log)
            let final = readText(build + "/.config") ?? ""
            let lost = LabKernelConfig.missing(from: final)
            guard lost.isEmpty else {
                throw LabError("Kconfig dropped \(lost.joined(separator: ", ")) from the lab fragment (an unmet dependency in \(version)); see \(build)/.config")
            }
            writeText(configured, key + "\n")
        }
        let estimate = Int(FileIO.readString(cacheRoot + "/objects-estimate")?.filter(\.isNumber) ?? "") ?? 1550
        let start = Monotonic.seconds()
        progress(.compiling(done: 0, estimate: estimate, seconds: 0))
        let child = try Subprocess.spawn(["make", "-C", tree, "O=" + build, "-j\(jobs)", "bzImage"], output: .file(log))
        var status: Int32?
        while status == nil {
            usleep(500_000)
            status = child.poll()
            progress(.compiling(done: Self.objects(inLog: log), estimate: estimate, seconds: Monotonic.seconds() - start))
        }
        let seconds = Monotonic.seconds() - start
        guard status == 0 else {
            let tail = (readText(log) ?? "").split(separator: "\n").suffix(1).joined()
            throw LabError("make bzImage failed (exit \(status!)) after \(Int(seconds)) s: \(tail) (full log: \(log))")
        }
        let objects = Self.objects(inLog: log)
        if objects > 200 { writeText(cacheRoot + "/objects-estimate", "\(objects)\n") }
        let out = outputDirectory(key: key)
        try makeDirectories(out)
        guard copyFile(build + "/arch/x86/boot/bzImage", out + "/bzImage"),
              copyFile(build + "/.config", out + "/config") else {
            throw LabError("cannot copy the bzImage into \(out)")
        }
        // The figure worth keeping is a whole build's; an incremental make keeps the old one.
        if objects > 200 || !FileIO.exists(out + "/build-seconds") { writeText(out + "/build-seconds", "\(Int(seconds))\n") }
        return LabKernel(image: out + "/bzImage", config: out + "/config", version: version, buildSeconds: seconds)
    }

    public enum BuildProgress: Sendable {
        case message(String)
        case compiling(done: Int, estimate: Int, seconds: Double)
    }

    /// Objects compiled so far: kbuild's `  CC `/`  AS ` lines.
    static func objects(inLog path: String) -> Int {
        guard let text = readText(path) else { return 0 }
        var n = 0
        for line in text.split(separator: "\n") where line.hasPrefix("  CC ") || line.hasPrefix("  AS ") { n += 1 }
        return n
    }

    func make(_ tree: String, _ build: String, _ targets: [String], log: String) throws(LabError) {
        let rc = try Subprocess.run(["make", "-C", tree, "O=" + build] + targets, output: .file(log))
        guard rc == 0 else { throw LabError("make \(targets.joined(separator: " ")) failed (exit \(rc)); see \(log)") }
    }
}

/// `mkdir -p`.
func makeDirectories(_ path: String) throws(LabError) {
    var prefix = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
        prefix += "/" + part
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw LabError("cannot create \(prefix): \(String(cString: strerror(errno)))") }
    }
}

/// Copies a regular file (up to 1 GiB) into a new file written as `FileIO.writeAtomically`
/// writes (a link at the target replaced, never followed); false on any failure.
func copyFile(_ from: String, _ to: String, mode: mode_t = 0o644) -> Bool {
    guard case .success(let bytes) = FileIO.read(from, limit: 1 << 30) else { return false }
    return FileIO.writeAtomically(to, bytes, mode: mode) == nil
}

/// A text file whole (up to 64 MiB), or nil.
public func readText(_ path: String) -> String? {
    guard case .success(let b) = FileIO.read(path, limit: 64 << 20) else { return nil }
    return String(decoding: b, as: UTF8.self)
}

/// Writes a text file atomically; false on failure.
@discardableResult
func writeText(_ path: String, _ text: String) -> Bool { FileIO.writeAtomically(path, Array(text.utf8)) == nil }

extension LabKernelBuild {
    /// The series a bare `lab run` / `lab check` boots when it is built (the lab's reference,
    /// the one CI's tests expect), else the newest cached kernel.
    public static let defaultSeries = "6.12"

    /// Every kernel in the cache: its version, folder, whether it was built from the current
    /// fragment, and its build's seconds when recorded. Ascending by version.
    public static func builtKernels(cacheRoot: String = defaultCacheRoot()) -> [(kernel: LabKernel, current: Bool, folder: String)] {
        let suffix = "-" + LabKernelConfig.fragmentHash
        var found: [(LabKernel, Bool, String)] = []
        for name in FileIO.listDirectory(cacheRoot) ?? [] where name.hasPrefix("kernel-") {
            let dir = cacheRoot + "/" + name
            guard FileIO.exists(dir + "/bzImage") else { continue }
            let current = name.hasSuffix(suffix)
            let rest = name.dropFirst("kernel-".count)
            guard let dash = rest.lastIndex(of: "-") else { continue }
            let version = String(rest[..<dash])
            let seconds = readText(dir + "/build-seconds").flatMap { Double($0.filter(\.isNumber)) }
            found.append((LabKernel(image: dir + "/bzImage", config: dir + "/config", version: version, buildSeconds: seconds), current, dir))
        }
        func parts(_ v: String) -> [Int] { v.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) } }
        return found.sorted { parts($0.0.version).lexicographicallyPrecedes(parts($1.0.version)) }
    }

    /// The lab kernel a bare command boots: the default series' when built from the current
    /// fragment, else the newest such kernel. `buildSeconds` is nil (a cached kernel).
    public static func findCached(cacheRoot: String = defaultCacheRoot()) -> LabKernel? {
        let current = builtKernels(cacheRoot: cacheRoot).filter(\.current).map(\.kernel)
        let pick = current.last { inSeries($0.version, defaultSeries) } ?? current.last
        return pick.map { LabKernel(image: $0.image, config: $0.config, version: $0.version, buildSeconds: nil) }
    }

    /// The newest cached kernel of a series (`6.1` → 6.1.176), current fragment only.
    public static func cached(series: String, cacheRoot: String = defaultCacheRoot()) -> LabKernel? {
        builtKernels(cacheRoot: cacheRoot).filter { $0.current && inSeries($0.kernel.version, series) }.last
            .map { LabKernel(image: $0.kernel.image, config: $0.kernel.config, version: $0.kernel.version, buildSeconds: nil) }
    }

    /// Whether `6.12.95` is of series `6.12`.
    public static func inSeries(_ version: String, _ series: String) -> Bool {
        version == series || version.hasPrefix(series + ".")
    }

    /// The release a bzImage announces (its setup header's kernel_version string).
    public static func release(ofImage path: String) -> String? {
        // The setup header and the version string it points at lie in the first 64 KiB.
        guard case .success(let b) = FileIO.readPrefix(path, count: 64 << 10), b.count > 0x210,
              b[0x202] == 0x48, b[0x203] == 0x64, b[0x204] == 0x72, b[0x205] == 0x53 else { return nil }   // "HdrS"
        let offset = Int(b[0x20E]) | Int(b[0x20F]) << 8
        let start = offset + 0x200
        guard start < b.count else { return nil }
        let text = b[start...].prefix { $0 != 0 && $0 != 0x20 }
        return text.isEmpty ? nil : String(decoding: text, as: UTF8.self)
    }

    /// The largest file `--kernel` takes: a bzImage is a few MiB, a vmlinux with debug symbols
    /// some hundreds.
    public static let maxImageBytes = 512 << 20

    /// A bzImage's configuration: a `config`, `config-RELEASE` or `.config` beside it, else
    /// the one it embeds (CONFIG_IKCONFIG), read with a kernel tree's scripts/extract-ikconfig.
    public static func config(forImage path: String, cacheRoot: String = defaultCacheRoot()) -> (text: String, from: String)? {
        let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        var candidates = [dir + "/config", dir + "/.config", dir + "/../../../.config"]
        if let r = release(ofImage: path) { candidates.insert(dir + "/config-" + r, at: 1) }
        for c in candidates {
            if let text = readText(c), text.contains("CONFIG_") { return (text, c) }
        }
        for tree in FileIO.listDirectory(cacheRoot + "/src") ?? [] {
            let script = cacheRoot + "/src/" + tree + "/scripts/extract-ikconfig"
            guard FileIO.exists(script) else { continue }
            // Scratch in a private directory; the script tries every compression magic in the
            // file, so a file full of them is stopped after a minute rather than run for ever.
            guard case .success(let scratch) = FileIO.makePrivateDirectory("p2ptop-ikconfig", in: "/var/tmp") else { return nil }
            defer { FileIO.removeTree(scratch) }
            let out = scratch + "/config"
            if (try? Subprocess.run(["sh", script, path], output: .file(out), timeout: 60)) == 0, let text = readText(out), text.contains("CONFIG_") {
                return (text, "embedded in \(path)")
            }
        }
        return nil
    }
}
