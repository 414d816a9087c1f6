import Foundation
import Testing

/// Every `--json` document of every command on every source validates against the schema
/// `p2ptop schema` publishes for it — checked by a real validator (python3-jsonschema,
/// Draft 2020-12), which is first shown rejecting broken documents.
@Suite struct SchemaTests {
    static let python: String? = {
        for py in ["/usr/bin/python3", "/usr/local/bin/python3"] where FileManager.default.isExecutableFile(atPath: py) {
            if let r = try? CLI.run(["-c", "\(py) -c 'import jsonschema' 2>/dev/null"], shell: true), r.status == 0 { return py }
        }
        return nil
    }()

    static let validator = """
    import json, sys, glob, jsonschema
    schemas = {}
    for f in glob.glob(sys.argv[1] + '/*.json'):
        s = json.load(open(f)); jsonschema.Draft202012Validator.check_schema(s); schemas[s['title']] = s
    n = bad = 0
    for f in sorted(glob.glob(sys.argv[2] + '/*')):
        for line in open(f).read().splitlines():
            if not line.strip(): continue
            d = json.loads(line); n += 1
            s = schemas.get(d.get('schema'))
            if s is None: bad += 1; print(f, 'no schema named', d.get('schema')); continue
            for e in jsonschema.Draft202012Validator(s).iter_errors(d):
                bad += 1; print(f, d['schema'], '/'.join(map(str, e.absolute_path)), e.message[:160]); break
    print(n, 'documents', bad, 'invalid', ' '.join(sorted({json.loads(l)['schema'] for f in glob.glob(sys.argv[2] + '/*') for l in open(f).read().splitlines() if l.strip()})))
    """

    /// Writes every schema `p2ptop schema` lists into a directory.
    static func schemaDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-schemas-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let list = try CLI.run(["schema"])
        let names = list.stdout.split(separator: "\n").filter { !$0.hasPrefix(" ") }.map { String($0.split(separator: " ")[0]) }
        #expect(names.count >= 19, "\(list.stdout)")
        for name in names {
            let r = try CLI.run(["schema", name])
            #expect(r.status == 0)
            try Data(r.stdout.utf8).write(to: URL(fileURLWithPath: "\(dir)/\(name).json"))
        }
        return dir
    }

    static func validate(schemas: String, documents: String) throws -> CLI.Result {
        let script = CLI.temp(validator)
        return try CLI.run(["-c", "\(python!) \(script) \(schemas) \(documents) 2>&1"], shell: true)
    }

    /// Pretty documents are turned into one line each, so the validator reads lines.
    static func save(_ text: String, _ dir: String, _ n: inout Int) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return }
        var lines: [String] = []
        if let one = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)),
           let data = try? JSONSerialization.data(withJSONObject: one) { lines = [String(decoding: data, as: UTF8.self)] }
        else { lines = trimmed.split(separator: "\n").map(String.init) }
        n += 1
        FileManager.default.createFile(atPath: "\(dir)/\(n).ndjson", contents: Data(lines.joined(separator: "\n").utf8))
    }

    @Test(.enabled(if: SchemaTests.python != nil, "python3 with jsonschema not installed (Debian's python3-jsonschema)"))
    func theValidatorRejectsBrokenDocuments() throws {
        let schemas = try Self.schemaDir()
        let docs = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-bad-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: docs, withIntermediateDirectories: true)
        let path = try CLI.run(["path", "gpu0", "nvme0", "--json", "--fabric", "icelake-gpu-switch"])
        var n = 0
        Self.save(path.stdout, docs, &n)
        Self.save(path.stdout.replacingOccurrences(of: "\"BUS_ADDR\"", with: "\"bus addr\""), docs, &n)
        Self.save(path.stdout.replacingOccurrences(of: "\"common_upstream\"", with: "\"common upstream\""), docs, &n)
        Self.save(path.stdout.replacingOccurrences(of: "\"distance\"", with: "\"Distance\""), docs, &n)
        Self.save("{\"schema\": \"p2ptop.nothing/1\"}", docs, &n)
        let r = try Self.validate(schemas: schemas, documents: docs)
        #expect(r.stdout.contains("5 documents 4 invalid"), "\(r.stdout)")
    }

    @Test(.enabled(if: SchemaTests.python != nil, "python3 with jsonschema not installed (Debian's python3-jsonschema)"))
    func everyCommandOnEverySourceMatchesItsSchema() throws {
        let schemas = try Self.schemaDir()
        let docs = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-docs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: docs, withIntermediateDirectories: true)
        var n = 0
        func run(_ args: [String]) throws {
            let r = try CLI.run(args)
            #expect(r.status == 0 || r.status == 1, "\(args.joined(separator: " ")): \(r.stderr)")
            Self.save(r.stdout, docs, &n)
        }
        for source in SourceCorpus.all {
            let eps = SourceCorpus.endpoints(source, 2)
            for command in [["list"], ["tree"], ["doctor"], ["doctor", "--gds"], ["matrix"]] { try run(command + ["--json"] + source) }
            try run(["snapshot"] + source)
            if let first = eps.first { try run(["show", first, "--json"] + source); try run(["bars", first, "--json"] + source) }
            if eps.count == 2 {
                try run(["path", eps[0], eps[1], "--json"] + source)
                try run(["provider", eps[0], eps[1], "--json"] + source)
                try run(["doctor", eps[0], eps[1], "--json"] + source)
            }
            if source.first == "--snapshot" { try run(["rdma", "--json"] + source) }
        }
        for fabric in SourceCorpus.fabrics {
            try run(["transfer", "--from", "host", "--to", "gpu0", "--size", "4M", "--json"] + fabric)
        }
        try run(["transfer", "--from", "nvme0", "--to", "nvme1", "--size", "4M", "--json", "--fabric", "icelake-gpu-switch"])
        try run(["transfer", "--from", "nvme0", "--to", "nic0", "--via", "rdma", "--size", "4M", "--json", "--fabric", "icelake-gpu-switch"])
        for command in [["fabrics"], ["scenario", "list"], ["scenario", "run", "seed-story"], ["rdma"], ["lab", "fabrics"], ["lab", "kernels"],
                        ["watch", "--count", "2", "--interval", "0.05"], ["bench", "engine", "--size", "4M", "--runs", "1"]] {
            try run(command + ["--json"])
        }
        try run(["snapshot", "-o", CLI.temp(""), "--json"])
        // The presenter's recordings of every bundled story (no terminal: played to the end).
        for story in ["seed-story", "acs-flip", "cross-socket"] {
            let file = CLI.temp("")
            let r = try CLI.run(["demo", story, "--record", file])
            #expect(r.status == 0, "\(story): \(r.stderr)")
            if let text = try? String(contentsOfFile: file, encoding: .utf8) { Self.save(text, docs, &n) }
        }
        // A real O_DIRECT transfer (host memory → a new file under .build, not tmpfs): the same
        // p2ptop.transfer/1 shape as a modelled one, key for key.
        let file = SourceCorpus.repo.appendingPathComponent(".build/schema-\(UUID().uuidString.prefix(8)).bin").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let real = try CLI.run(["transfer", "--from", "host", "--to", "file:" + file, "--size", "1M", "--json"])
        let modelled = try CLI.run(["transfer", "--from", "nvme0", "--to", "nvme1", "--size", "1M", "--json", "--fabric", "icelake-gpu-switch"])
        if let a = try? JSONSerialization.jsonObject(with: Data(real.stdout.utf8)) as? [String: Any],
           let b = try? JSONSerialization.jsonObject(with: Data(modelled.stdout.utf8)) as? [String: Any] {
            #expect(Set(a.keys) == Set(b.keys) && a["real"] as? Bool == true && b["real"] as? Bool == false)
            #expect(Set((a["pins"] as? [String: Any] ?? [:]).keys) == Set((b["pins"] as? [String: Any] ?? [:]).keys))
            Self.save(real.stdout, docs, &n)
        } else {
            Issue.record("transfer --json: \(real.stdout) \(real.stderr)")
        }
        // bar reads a live function: the first endpoint of this machine (read-only; refused
        // when it has no resource file, which is still a document).
        if let live = SourceCorpus.withMemoryBAR() { try run(["bar", live, "--json"]) }
        // The lab's own documents: what the guest observed (recorded boots).
        for variant in ["intel", "amd", "intel-iommu"] {
            let file = SourceCorpus.repo.appendingPathComponent("Tests/LabTests/Recorded/\(variant)/observed.json").path
            if let text = try? String(contentsOfFile: file, encoding: .utf8) { Self.save(text, docs, &n) }
        }
        let r = try Self.validate(schemas: schemas, documents: docs)
        let summary = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(summary.contains(" 0 invalid"), "\(r.stdout.suffix(3000))")
        // Every document saved was validated, and every source gave at least its five
        // (list, tree, doctor, matrix, snapshot).
        let documents = Int(summary.split(separator: " ").first ?? "") ?? 0
        #expect(documents >= n && n >= SourceCorpus.all.count * 5 + 20, "\(n) saved, \(summary)")
        #expect(CLI.fixtures == nil || SourceCorpus.fixtureSources.count >= SourceCorpus.fixtureSourceMinimum, "the fixtures that loaded")
        for schema in ["topology", "device", "doctor", "matrix", "path", "provider", "snapshot/", "transfer", "fabrics", "scenarios",
                       "scenario-event", "rdma", "lab-fabrics", "lab-kernels", "sample/2", "snapshot-written", "bench", "lab-observed", "bar", "bars",
                       "demo-recording", "gds"] {
            #expect(summary.contains("p2ptop.\(schema)"), "no \(schema) document was validated: \(summary)")
        }
    }
}
