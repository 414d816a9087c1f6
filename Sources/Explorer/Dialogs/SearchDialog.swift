import TerminalUI

/// `/` or F3 on the tree: the typed text jumps to the next matching row as it grows; Enter
/// keeps the selection, Esc drops the search. Drawn on the status line, not over the tree.
final class SearchDialog: ExplorerDialog {
    var text = ""

    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction {
        switch key {
        case .escape: m.lastSearch = ""; return .close
        case .enter:
            m.lastSearch = text
            m.tree.jump(to: text, from: m.tree.list.selected)
            return .close
        case .backspace: if !text.isEmpty { text.removeLast() }
        case .character(let c):
            text.append(c)
            m.lastSearch = text
            m.tree.jump(to: text, from: m.tree.list.selected)
        default: break
        }
        return .none
    }

    func face(in screenArea: Rect, _ m: ExplorerModel) -> DialogFace { .prompt(prompt) }

    var prompt: String { "/\(text)▏" }
}
