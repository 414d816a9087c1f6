import TerminalUI

/// What the device and BAR screens share: a page about the tree's selected function that keys
/// move to another function (the page scrolls back to its top) and the wheel scrolls.
struct SelectionPage {
    var scroll = 0

    /// Tree moves; `l` and ←/→ left out where the page has its own use for them.
    mutating func handle(_ key: Key, _ m: ExplorerModel, keepArrows: Bool = true) -> ExplorerAction {
        let before = m.tree.selected
        let action = TopologyScreen.navigate(!keepArrows && (key == .right || key == .left) ? .character("_") : key, m)
        if m.tree.selected != before { scroll = 0 }
        return action
    }

    mutating func wheel(_ button: Int) {
        if button == 4 { scroll = max(0, scroll - 3) }
        if button == 5 { scroll += 3 }
    }

    /// The command that prints the page for the selected function.
    static func command(_ verb: String, _ m: ExplorerModel) -> String {
        "p2ptop \(verb) \(m.selectedDevice.map { m.topology.alias($0.bdf) ?? $0.bdf.description } ?? "")" + m.sourceFlags
    }
}
