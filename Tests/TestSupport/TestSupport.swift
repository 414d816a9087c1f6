import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the tests need to know about the machine they run on, decided once, before any test
/// starts, so that a test that cannot run is reported as skipped with its reason
/// (`.enabled(if:)`), never passed by returning early.
public enum TestMachine {
    /// The repository's root (this file is `Tests/TestSupport/TestSupport.swift`).
    public static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `.build` inside the checkout: a real file system (unlike `/tmp`, often tmpfs), for files
    /// that are read or written with O_DIRECT.
    public static var buildDirectory: String {
        let dir = repo.appendingPathComponent(".build").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The shared fixtures (`../shared/fixtures` beside the checkout, or `P2PTOP_FIXTURES`),
    /// read in place; nil on a plain clone.
    public static let fixtures: String? = {
        let dir = ProcessInfo.processInfo.environment["P2PTOP_FIXTURES"]
            ?? repo.deletingLastPathComponent().appendingPathComponent("shared/fixtures").path
        return FileManager.default.fileExists(atPath: dir + "/lspci") ? dir : nil
    }()

    /// The one reason every fixture test gives when it is skipped.
    public static let noFixtures = "../shared/fixtures not found (a plain clone; set P2PTOP_FIXTURES to run the tests on real machines' files)"

    /// Files in a fixture folder with this suffix, sorted, as full paths (none without fixtures).
    public static func fixtureFiles(_ folder: String, _ suffix: String) -> [String] {
        guard let fixtures else { return [] }
        let dir = fixtures + "/" + folder
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(suffix) }.sorted().map { dir + "/" + $0 }
    }

    /// Whether the file system under `.build` takes O_DIRECT I/O (open, an aligned write and
    /// an aligned read back), which the real transfer tests need.
    public static let oDirectInBuild: Bool = {
        // Glibc's module is built without _GNU_SOURCE: O_DIRECT as <asm-generic/fcntl.h> has it.
        #if arch(arm64) || arch(arm)
        let O_DIRECT: Int32 = 0o200000
        #else
        let O_DIRECT: Int32 = 0o40000
        #endif
        let path = buildDirectory + "/odirect-probe-\(getpid())"
        defer { unlink(path) }
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_DIRECT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var buffer: UnsafeMutableRawPointer?
        guard posix_memalign(&buffer, 4096, 4096) == 0, let buffer else { return false }
        defer { free(buffer) }
        memset(buffer, 0x5a, 4096)
        guard pwrite(fd, buffer, 4096, 0) == 4096 else { return false }
        memset(buffer, 0, 4096)
        return pread(fd, buffer, 4096, 0) == 4096 && buffer.load(as: UInt8.self) == 0x5a
    }()
    public static let noODirect = "the file system under .build does not take O_DIRECT I/O"

    /// The lspci of this machine (its pci.ids, its udev hwdb), if installed.
    public static let lspci: String? = ["/usr/bin/lspci", "/usr/sbin/lspci", "/bin/lspci", "/sbin/lspci"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    public static let noLspci = "lspci is not installed (pciutils): names are compared with lspci on the same machine"

    /// What this machine's lspci prints for these arguments (stdout; its "Unable to load
    /// libkmod resources" and the like on stderr are dropped). Nil when it is not installed or failed.
    public static func lspciOutput(_ arguments: [String]) -> String? {
        guard let lspci else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: lspci)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return p.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }

    /// `lspci -nn` text with the vendor, device and class names masked: what a reference made
    /// on another machine (another pci.ids) still says exactly — addresses, class codes, IDs,
    /// revisions, programming interfaces.
    public static func maskingNames(nn text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var s = String(line)
            // `BDF Class name [cccc]: Vendor Device [vvvv:dddd] (rev xx)` → `BDF _ [cccc]: _ [vvvv:dddd] (rev xx)`
            if let r = s.range(of: #" .*? \[[0-9a-f]{4}\]: "#, options: .regularExpression) {
                let code = s[r].range(of: #"\[[0-9a-f]{4}\]: $"#, options: .regularExpression).map { String(s[r][$0]) } ?? ""
                s.replaceSubrange(r, with: " _ " + code)
            }
            if let r = s.range(of: #": .*? \[[0-9a-f]{4}:[0-9a-f]{4}\]"#, options: .regularExpression) {
                let ids = s[r].range(of: #"\[[0-9a-f]{4}:[0-9a-f]{4}\]$"#, options: .regularExpression).map { String(s[r][$0]) } ?? ""
                s.replaceSubrange(r, with: ": _ " + ids)
            }
            // `(prog-if 30 [XHCI])`: the interface's name is from pci.ids too.
            s = s.replacingOccurrences(of: #"\(prog-if ([0-9a-f]{2}) \[[^\]]*\]\)"#, with: "(prog-if $1)", options: .regularExpression)
            return s
        }.joined(separator: "\n")
    }
}
