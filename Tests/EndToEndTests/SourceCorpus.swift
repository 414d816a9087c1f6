import Foundation

/// Every source a command can read, for the tests that hold a promise on all of them: each demo
/// fabric, each fixture dump, hwloc XML and sysfs tree, the lab's recorded snapshots, and the
/// live machine.
enum SourceCorpus {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func files(_ dir: String, _ suffix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(suffix) }.sorted().map { dir + "/" + $0 }
    }

    static let fabrics: [[String]] = {
        guard let r = try? CLI.run(["fabrics", "--json"]),
              let doc = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
              let list = doc["fabrics"] as? [[String: Any]] else { return [] }
        return list.compactMap { $0["name"] as? String }.map { ["--fabric", $0] }
    }()

    /// The sysfs tarballs, extracted once per test process.
    static let sysfsRoots: [[String]] = {
        guard let fixtures = CLI.fixtures else { return [] }
        return files(fixtures + "/sysfs", ".tar.bz2").compactMap { tarball in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-corpus-\(UUID().uuidString)")
            try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            guard let r = try? CLI.run(["-c", "tar xjf '\(tarball)' -C '\(dir.path)'"], shell: true), r.status == 0,
                  let top = try? FileManager.default.contentsOfDirectory(atPath: dir.path).first(where: { !$0.hasPrefix(".") }) else { return nil }
            return ["--sysfs-root", dir.appendingPathComponent(top).path]
        }
    }()

    /// The lab's recorded snapshots, in the repository.
    static let recordedSnapshots: [[String]] = ["intel", "amd", "intel-iommu"].map {
        ["--snapshot", repo.appendingPathComponent("Tests/LabTests/Recorded/\($0)/snapshot.json").path]
    }

    /// The sources every clone has: the demo fabrics, the lab's recorded snapshots and the
    /// live machine (`[]`).
    static let builtIn: [[String]] = fabrics + recordedSnapshots + [[]]

    /// The real machines' files in ../shared/fixtures (none on a plain clone). The two hwloc
    /// files that use one bus ID twice are included: they load with a warning.
    static let fixtureSources: [[String]] = {
        guard let fixtures = CLI.fixtures else { return [] }
        var sources = files(fixtures + "/lspci", ".dump").map { ["--dump", $0] }
        sources += files(fixtures + "/hwloc", ".xml").map { ["--hwloc", $0] }
        // NCCL's topology files (the graph file is not one: it is refused, tested apart).
        sources += files(fixtures + "/nccl", ".xml").filter { !$0.contains("-graph") }.map { ["--nccl", $0] }
        return sources + sysfsRoots
    }()

    /// At least this many fixture sources when ../shared is present (today 30 dumps, 16 hwloc
    /// files, 5 NCCL topologies and 2 sysfs trees): a test over them asserts it, so that a
    /// fixture folder that failed to load cannot pass for an empty one.
    static let fixtureSourceMinimum = 50

    /// Every source that loads.
    static var all: [[String]] { builtIn + fixtureSources }

    /// Up to `n` endpoints (functions that are not bridges) of a source, by BDF.
    static func endpoints(_ source: [String], _ n: Int) -> [String] {
        guard let r = try? CLI.run(["list", "--json"] + source), r.status == 0,
              let doc = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
              let devices = doc["devices"] as? [[String: Any]] else { return [] }
        return devices.filter { $0["bridge"] is NSNull }.prefix(n).compactMap { $0["bdf"] as? String }
    }

    /// A live function with a memory BAR, by BDF.
    static func withMemoryBAR() -> String? {
        guard let r = try? CLI.run(["list", "--json"]), r.status == 0,
              let doc = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
              let devices = doc["devices"] as? [[String: Any]] else { return nil }
        return devices.first { d in (d["bars"] as? [[String: Any]])?.contains { $0["type"] as? String == "mem" } == true }?["bdf"] as? String
    }
}
