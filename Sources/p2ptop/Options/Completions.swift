import ArgumentParser
import PCISources
import PCITopology

/// What the shells complete beyond subcommands and options: files for the file options, the
/// bundled fabrics' names, and — for a device argument — the aliases and BDFs of the source the
/// command line names so far (`p2ptop show --fabric sapphire-h100 gp<Tab>` → gpu0 … gpu7).
enum Completions {
    static let fabrics: CompletionKind = .list(DemoFabrics.all.map(\.name))
    static let xml: CompletionKind = .file(extensions: ["xml"])
    static let anyFile: CompletionKind = .file()
    static let directory: CompletionKind = .directory

    /// A device argument: the current source's aliases and BDFs that start with the word typed.
    static let device: CompletionKind = .custom { words, _, prefix in devices(words: words, prefix: prefix) }

    static func devices(words: [String], prefix: String) -> [String] {
        guard let t = try? source(in: words).load() else { return [] }
        var out: [String] = []
        for d in t.devices {
            if let a = t.alias(d.bdf) { out.append(a) }
            out.append(d.bdf.description)
        }
        return out.filter { $0.hasPrefix(prefix) }
    }

    /// The source option on the command line so far (`--fabric X` or `--fabric=X`, …); the live
    /// machine where there is none.
    static func source(in words: [String]) -> TopologySource {
        var values: [String: String] = [:]
        let names = ["--dump", "--sysfs-root", "--snapshot", "--fabric", "--hwloc", "--nccl"]
        var i = 0
        while i < words.count {
            let w = words[i]
            if let eq = w.firstIndex(of: "="), names.contains(String(w[..<eq])) {
                values[String(w[..<eq])] = String(w[w.index(after: eq)...])
            } else if names.contains(w), i + 1 < words.count {
                values[w] = words[i + 1]; i += 1
            }
            i += 1
        }
        return SourceOptions.source(dump: values["--dump"], sysfsRoot: values["--sysfs-root"], snapshot: values["--snapshot"],
                                    fabric: values["--fabric"], hwloc: values["--hwloc"], nccl: values["--nccl"])
    }
}
