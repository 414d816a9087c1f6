import PCISources
import PCITopology
import TerminalUI

/// One visible row of the tree: a device, its depth and the guide drawn before it.
struct TreeRow {
    var bdf: BDF
    var prefix: String
    var searchText: String
}

/// The bus tree as the screens share it: its visible rows (lspci -t placement, collapsed
/// bridges folded, a kind filter), the selection the device and BAR screens follow, and the
/// path marked from the matrix. A value: rebuilt from a topology, no I/O.
struct TreeModel {
    var rows: [TreeRow] = []
    var collapsed = Set<BDF>()
    /// Show only these kinds of devices (and the bridges above them); nil = all.
    var kindFilter: DeviceKind?
    var list = ListState()
    /// Hops of the pair last opened from the matrix, marked in the tree.
    var highlightedPath: [BDF] = []
    static let filterCycle: [DeviceKind?] = [nil, .gpu, .nic, .nvme, .accelerator, .storage]

    var selected: BDF? { rows.indices.contains(list.selected) ? rows[list.selected].bdf : nil }

    /// Flattens the tree into rows, keeping the selected function selected where it still shows.
    mutating func rebuild(_ topology: Topology, names: NameDatabase) {
        let keepSelected = selected
        rows = []
        var keep: Set<BDF>? = nil
        if let k = kindFilter {
            var set = Set<BDF>()
            for d in topology.devices where topology.kind(d.bdf) == k {
                set.insert(d.bdf)
                set.formUnion(topology.upstreamPath(d.bdf))
            }
            keep = set
        }
        func visit(_ owner: BDF?, _ indent: String) {
            let kids = topology.children(owner).filter { keep?.contains($0) ?? true }
            for (i, b) in kids.enumerated() {
                let last = i == kids.count - 1
                guard let d = topology.device(b) else { continue }
                let branch = owner == nil ? "" : (last ? "└─" : "├─")
                let mark = d.isBridge ? (collapsed.contains(b) ? "▸ " : "▾ ") : "  "
                let alias = topology.alias(b) ?? ""
                rows.append(TreeRow(bdf: b, prefix: indent + branch + mark,
                                    searchText: (b.description + " " + alias + " " + names.vendorDevice(d) + " " + topology.kind(b).tag).lowercased()))
                if d.isBridge && !collapsed.contains(b) {
                    visit(b, owner == nil ? indent : indent + (last ? "  " : "│ "))
                }
            }
        }
        visit(nil, "")
        if let k = keepSelected { select(k) }
        clamp()
    }

    /// Selects a function's row; false when it is not shown.
    @discardableResult mutating func select(_ bdf: BDF) -> Bool {
        guard let i = rows.firstIndex(where: { $0.bdf == bdf }) else { return false }
        list.selected = i
        return true
    }

    mutating func clamp() { list.selected = max(0, min(rows.count - 1, list.selected)) }

    mutating func move(by n: Int) { list.selected += n; clamp() }

    /// Folds or unfolds the selected bridge.
    mutating func setCollapsed(_ collapse: Bool, _ topology: Topology, names: NameDatabase) {
        guard let b = selected, topology.device(b)?.isBridge == true else { return }
        if collapse { collapsed.insert(b) } else { collapsed.remove(b) }
        rebuild(topology, names: names)
    }

    mutating func cycleFilter(_ topology: Topology, names: NameDatabase) {
        let i = TreeModel.filterCycle.firstIndex { $0 == kindFilter } ?? 0
        kindFilter = TreeModel.filterCycle[(i + 1) % TreeModel.filterCycle.count]
        rebuild(topology, names: names)
    }

    /// The next row from `start` (wrapping) whose text holds the needle.
    mutating func jump(to needle: String, from start: Int) {
        guard !needle.isEmpty, !rows.isEmpty else { return }
        let n = needle.lowercased()
        for k in 0..<rows.count {
            let i = ((start + k) % rows.count + rows.count) % rows.count
            if rows[i].searchText.contains(n) { list.selected = i; return }
        }
    }

    /// Marks a pair's hops, unfolds them, clears the filter and selects `bdf`.
    mutating func mark(_ hops: [BDF], select bdf: BDF, _ topology: Topology, names: NameDatabase) {
        highlightedPath = hops
        kindFilter = nil
        collapsed.subtract(hops)
        rebuild(topology, names: names)
        select(bdf)
    }
}
