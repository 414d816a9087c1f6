import Foundation

/// A captured filesystem root made for a test: the given files (path → text) and folders under
/// a fresh temporary directory, whose path is returned.
public enum CapturedRoot {
    public static func make(_ files: [String: String], dirs: [String] = [], prefix: String = "p2ptop-root") throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))").path
        for d in dirs { try FileManager.default.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true) }
        for (rel, text) in files {
            let p = root + "/" + rel
            try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: p, atomically: false, encoding: .utf8)
        }
        return root
    }
}
