import PCISources

/// Kernel × experiment group: how many experiments agreed of how many, over every fabric and
/// variant booted on that kernel. Made from `lab check` runs or from its `p2ptop.lab/1` JSON.
public struct LabSummary: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public var kernel: String
        public var boots = 0
        public var failedBoots = 0
        public var fabrics: [String] = []
        /// group → agreeing and all experiments
        public var cells: [String: Cell] = [:]
    }

    public struct Cell: Sendable, Equatable {
        public var agree = 0, total = 0
    }

    public var rows: [Row]

    /// One experiment as the summary counts it.
    public struct Item: Sendable {
        public var kernel, fabric, group: String
        public var agree: Bool
        public init(kernel: String, fabric: String, group: String, agree: Bool) { self.kernel = kernel; self.fabric = fabric; self.group = group; self.agree = agree }
    }

    public init(items: [Item], boots: [(kernel: String, fabric: String, failed: Bool)]) {
        var order: [String] = []
        var byKernel: [String: Row] = [:]
        func row(_ k: String) -> Row { byKernel[k] ?? Row(kernel: k) }
        for b in boots {
            if byKernel[b.kernel] == nil { order.append(b.kernel) }
            var r = row(b.kernel)
            r.boots += 1
            if b.failed { r.failedBoots += 1 }
            if !r.fabrics.contains(b.fabric) { r.fabrics.append(b.fabric) }
            byKernel[b.kernel] = r
        }
        for i in items {
            if byKernel[i.kernel] == nil { order.append(i.kernel) }
            var r = row(i.kernel)
            r.cells[i.group, default: Cell()].agree += i.agree ? 1 : 0
            r.cells[i.group, default: Cell()].total += 1
            byKernel[i.kernel] = r
        }
        rows = order.map { byKernel[$0]! }
    }

    public init(runs: [LabRun]) {
        self.init(items: runs.flatMap { r in r.experiments.map { Item(kernel: r.kernel, fabric: r.variant.fabric.name, group: $0.group, agree: $0.agree) } },
                  boots: runs.map { ($0.kernel, $0.variant.fabric.name, $0.failure != nil) })
    }

    /// From a `p2ptop.lab/1` document.
    public init(json j: JSON, file: String) throws(LabError) {
        guard j["schema"]?.stringValue == "p2ptop.lab/1", let runs = j["runs"]?.arrayValue else {
            throw LabError("\(file): expected a p2ptop.lab/1 document (p2ptop lab check --json)")
        }
        var items: [Item] = [], boots: [(String, String, Bool)] = []
        for (n, r) in runs.enumerated() {
            guard let kernel = r["kernel"]?.stringValue, let fabric = r["fabric"]?.stringValue, let exps = r["experiments"]?.arrayValue else {
                throw LabError("\(file): runs[\(n)]: expected kernel, fabric and experiments")
            }
            boots.append((kernel, fabric, r["failure"]?.stringValue != nil))
            for (m, e) in exps.enumerated() {
                guard let group = e["group"]?.stringValue, LabStep.Kind.groups.contains(group), let agree = e["agree"]?.boolValue else {
                    throw LabError("\(file): runs[\(n)].experiments[\(m)]: expected a known group and agree")
                }
                items.append(Item(kernel: kernel, fabric: fabric, group: group, agree: agree))
            }
        }
        self.init(items: items, boots: boots)
    }

    public var allAgree: Bool { !rows.isEmpty && rows.allSatisfy { $0.failedBoots == 0 && $0.cells.values.allSatisfy { $0.agree == $0.total } } }

    func cell(_ r: Row, _ g: String) -> String { r.cells[g].map { "\($0.agree)/\($0.total)" } ?? "—" }

    /// A Markdown table, as the README carries it.
    public var markdown: String {
        var lines = ["| kernel | boots | " + LabStep.Kind.groups.joined(separator: " | ") + " |",
                     "|---|---|" + String(repeating: "---|", count: LabStep.Kind.groups.count)]
        for r in rows {
            let boots = "\(r.boots)" + (r.failedBoots > 0 ? " (\(r.failedBoots) failed)" : "")
            lines.append("| \(r.kernel) | \(boots) | " + LabStep.Kind.groups.map { cell(r, $0) }.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    /// The same in columns of text (at most 80 wide for up to three-digit counts).
    public var text: String {
        let short = ["topology": "topo", "acs": "acs", "verdicts": "verdict", "reasons": "reason", "pins": "pins", "p2pmem": "p2pmem", "rdma": "rdma", "bars": "bars", "lifetime": "life"]
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        let groups = LabStep.Kind.groups
        let width = groups.map { g in max(short[g]!.count, rows.map { cell($0, g).count }.max() ?? 0) + 1 }
        let kernelWidth = max(7, rows.map(\.kernel.count).max() ?? 0) + 1
        var lines = [pad("kernel", kernelWidth) + pad("boots", 6) + groups.indices.map { pad(short[groups[$0]]!, width[$0]) }.joined()]
        for r in rows {
            lines.append(pad(r.kernel, kernelWidth) + pad("\(r.boots)" + (r.failedBoots > 0 ? "!" : ""), 6) + groups.indices.map { pad(cell(r, groups[$0]), width[$0]) }.joined())
        }
        return lines.map { String($0.reversed().drop { $0 == " " }.reversed()) }.joined(separator: "\n")
    }
}
