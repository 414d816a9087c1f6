import LinuxFiles
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Where a lab kernel's source comes from (`lab kernel --source`): a Debian `linux-source-X.Y`
/// package by series (`6.1`, `6.12`, `newest`), a source tree, or a tarball. A package is
/// the system's own `/usr/src/linux-source-X.Y.tar.xz` when it is installed; otherwise it is
/// downloaded into the cache through a private apt state derived from the machine's Debian
/// entry (same mirror, same key, its own lists), unpacked with `dpkg-deb -x`: nothing from
/// another suite is installed into the system.
public struct LabKernelSource {
    public enum Spec: Equatable, Sendable, CustomStringConvertible {
        case series(major: Int, minor: Int), newest, path(String)

        /// `6.1`, `6.12`, `newest`; anything else is a path.
        public init(_ text: String) {
            if text == "newest" { self = .newest; return }
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), (1..<100).contains(a), (0..<1000).contains(b),
               parts.allSatisfy({ $0.allSatisfy(\.isNumber) }) {
                self = .series(major: a, minor: b); return
            }
            self = .path(text)
        }

        public var description: String {
            switch self {
            case .series(let a, let b): "\(a).\(b)"
            case .newest: "newest"
            case .path(let p): p
            }
        }
    }

    public var cacheRoot: String
    /// The system's Debian entry the private one is derived from.
    public var systemSources = "/etc/apt/sources.list.d/debian.sources"

    public init(cacheRoot: String = LabKernelBuild.defaultCacheRoot()) { self.cacheRoot = cacheRoot }

    var aptRoot: String { cacheRoot + "/apt" }

    /// The tarball or tree to build for `spec`, fetching the package if need be.
    public func resolve(_ spec: Spec, say: (String) -> Void) throws(LabError) -> String {
        switch spec {
        case .path(let p): return p
        case .series(let a, let b): return try package("\(a).\(b)", say: say)
        case .newest:
            let series = try newestSeries(say: say)
            say("newest Debian kernel source: linux-source-\(series)")
            return try package(series, say: say)
        }
    }

    /// `linux-source-X.Y`'s tarball: installed, already fetched, or fetched now.
    func package(_ series: String, say: (String) -> Void) throws(LabError) -> String {
        let installed = "/usr/src/linux-source-\(series).tar.xz"
        if FileIO.exists(installed) { return installed }
        let fetched = aptRoot + "/pkg/linux-source-\(series)/usr/src/linux-source-\(series).tar.xz"
        if FileIO.exists(fetched) { return fetched }
        try prepareApt(say: say)
        if !listsHave("linux-source-\(series)") { try update(say: say) }
        let debs = aptRoot + "/debs"
        try makeDirectories(debs)
        say("downloading linux-source-\(series) (Debian's package, not installed)")
        let rc = try Subprocess.run(["sh", "-c", "cd \"$1\" && shift && exec \"$@\"", "sh", debs, "apt-get"] + aptOptions + ["download", "linux-source-\(series)"],
                                    output: .file(aptRoot + "/download.log"), timeout: 1800)
        guard rc == 0 else {
            throw LabError("apt-get download linux-source-\(series) failed (exit \(rc)): \(lastLine(aptRoot + "/download.log")) — is linux-source-\(series) in bookworm, bookworm-backports or sid?")
        }
        guard let deb = (FileIO.listDirectory(debs) ?? []).filter({ $0.hasPrefix("linux-source-\(series)_") && $0.hasSuffix(".deb") }).sorted().last else {
            throw LabError("apt-get download left no linux-source-\(series)_*.deb in \(debs)")
        }
        let pkg = aptRoot + "/pkg/linux-source-\(series)"
        try makeDirectories(pkg)
        say("unpacking \(deb) (dpkg-deb -x)")
        let x = try Subprocess.run(["dpkg-deb", "-x", debs + "/" + deb, pkg], output: .file(aptRoot + "/unpack.log"), timeout: 600)
        guard x == 0, FileIO.exists(fetched) else { throw LabError("dpkg-deb -x \(deb) failed (exit \(x)) or held no usr/src/linux-source-\(series).tar.xz") }
        _ = unlink(debs + "/" + deb)
        return fetched
    }

    /// The highest `linux-source-X.Y` the private lists have (sid included), updating them
    /// when they are older than a day; the cached lists when the mirror cannot be reached.
    func newestSeries(say: (String) -> Void) throws(LabError) -> String {
        try prepareApt(say: say)
        var st = stat()
        let lists = aptRoot + "/lists"
        let stale = stat(aptRoot + "/updated", &st) != 0 || Double(time(nil) - st.st_mtim.tv_sec) > 86_400
        if stale {
            do { try update(say: say) } catch { if !FileIO.exists(lists) { throw error }; say("apt-get update failed; using the lists of an earlier day") }
        }
        let out = aptRoot + "/search.txt"
        _ = try Subprocess.run(["apt-cache"] + aptOptions + ["search", "--names-only", "^linux-source-[0-9]+\\.[0-9]+$"], output: .file(out), timeout: 120)
        let found = Self.seriesNames(in: readText(out) ?? "")
        if let best = found.last { return best }
        // Offline with no lists: the highest series fetched before.
        let fetched = (FileIO.listDirectory(aptRoot + "/pkg") ?? []).compactMap { $0.hasPrefix("linux-source-") ? String($0.dropFirst(13)) : nil }
        if let best = Self.sortedSeries(fetched).last { return best }
        throw LabError("no linux-source-X.Y package in the private lists (\(lists)); apt-get update there first")
    }

    /// `linux-source-7.2 - Linux kernel source …` lines → ["6.1", "6.12", "7.2"], ascending.
    public static func seriesNames(in text: String) -> [String] {
        sortedSeries(text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("linux-source-") else { return nil }
            let name = line.dropFirst(13).prefix { $0 != " " }
            return name.split(separator: ".").count == 2 && name.allSatisfy({ $0.isNumber || $0 == "." }) ? String(name) : nil
        })
    }

    static func sortedSeries(_ names: [String]) -> [String] {
        func key(_ s: String) -> [Int] { s.split(separator: ".").compactMap { Int($0) } }
        return Array(Set(names)).sorted { key($0).lexicographicallyPrecedes(key($1)) }
    }

    var aptOptions: [String] {
        ["-o", "Dir::Etc::sourcelist=" + aptRoot + "/sources.sources", "-o", "Dir::Etc::sourceparts=/dev/null",
         "-o", "Dir::State::Lists=" + aptRoot + "/lists", "-o", "Dir::Cache=" + aptRoot + "/cache",
         "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root", "-qq"]
    }

    /// The private sources file: the machine's Debian stanza with the suites the lab's kernels
    /// come from (`<codename>`, `-updates`, `-backports`, `sid`).
    func prepareApt(say: (String) -> Void) throws(LabError) {
        for d in [aptRoot, aptRoot + "/lists/partial", aptRoot + "/cache/archives/partial"] { try makeDirectories(d) }
        let file = aptRoot + "/sources.sources"
        guard !FileIO.exists(file) else { return }
        guard let system = readText(systemSources), let stanza = Self.privateStanza(from: system) else {
            throw LabError("\(systemSources): no Debian stanza (Types: deb, Suites: CODENAME …) to derive the lab's private apt lists from; install linux-source-X.Y yourself or pass --source TARBALL")
        }
        guard writeText(file, stanza) else { throw LabError("cannot write \(file)") }
    }

    /// The first `Types: deb` stanza whose first suite is a release codename, its suites
    /// replaced; nil when there is none.
    public static func privateStanza(from text: String) -> String? {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n")
        for block in normalized.components(separatedBy: "\n\n") {
            let lines = block.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
            func field(_ name: String) -> String? {
                lines.first { $0.hasPrefix(name + ":") }.map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: " \t") }
            }
            guard field("Types")?.split(separator: " ").contains("deb") == true, let suites = field("Suites"), let uris = field("URIs"),
                  let codename = suites.split(separator: " ").first, !codename.contains("-"), !codename.contains("/") else { continue }
            var out = ["Types: deb", "URIs: " + uris, "Suites: \(codename) \(codename)-updates \(codename)-backports sid",
                       "Components: " + (field("Components") ?? "main")]
            if let key = field("Signed-By") { out.append("Signed-By: " + key) }
            return out.joined(separator: "\n") + "\n"
        }
        return nil
    }

    func update(say: (String) -> Void) throws(LabError) {
        say("apt-get update (the lab's private lists, \(aptRoot)/lists)")
        let rc = try Subprocess.run(["apt-get"] + aptOptions + ["update"], output: .file(aptRoot + "/update.log"), timeout: 600)
        guard rc == 0 else { throw LabError("apt-get update of the lab's private lists failed (exit \(rc)): \(lastLine(aptRoot + "/update.log"))") }
        writeText(aptRoot + "/updated", "\(time(nil))\n")
    }

    func listsHave(_ package: String) -> Bool {
        guard FileIO.exists(aptRoot + "/lists") else { return false }
        return (try? Subprocess.run(["apt-cache"] + aptOptions + ["show", package], output: .null, timeout: 120)) == 0
    }

    func lastLine(_ path: String) -> String {
        (readText(path) ?? "").split(separator: "\n").last.map(String.init) ?? ""
    }
}
