import TerminalUI

/// A screen's name in the header; its number key is its place in `ExplorerApp.screens`. Each
/// screen's file declares its own (`extension ScreenID { static let pins = … }`).
public struct ScreenID: Hashable, Sendable, CustomStringConvertible {
    public let title: String
    public init(_ title: String) { self.title = title }
    public var description: String { title }
}

/// What a key or a click asks of the app, which applies it: screens and dialogs never reach
/// the screen list or the dialog stack themselves.
enum ExplorerAction {
    /// Handled (or ignored): nothing more to do.
    case none
    /// Push a dialog; it gets the keys until it closes.
    case open(any ExplorerDialog)
    /// Pop the top dialog.
    case close
    /// Pop the top dialog and push another in its place (a confirmation becoming its answer).
    case replace(any ExplorerDialog)
    /// Switch to a screen.
    case show(ScreenID)
    /// Pop the top dialog and switch to a screen (a dialog that started something to watch).
    case closeAndShow(ScreenID)
    case quit
}

/// One numbered screen (htop's screens): its own state, its drawing, its keys and clicks, and
/// the one-shot command for what it shows. The app owns the shared model and routes events.
protocol ExplorerScreen: AnyObject {
    var id: ScreenID { get }
    func render(in body: Rect, on c: inout Canvas, _ m: ExplorerModel)
    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction
    /// A mouse event inside the body (wheel: button 4 up, 5 down).
    func click(x: Int, y: Int, button: Int, _ m: ExplorerModel) -> ExplorerAction
    /// The p2ptop command that prints what the screen shows (the status line).
    func command(_ m: ExplorerModel) -> String
    /// This screen's own keys, for the help dialog.
    var help: [(keys: String, what: String)] { get }
}

extension ExplorerScreen {
    func click(x: Int, y: Int, button: Int, _ m: ExplorerModel) -> ExplorerAction { .none }
    var help: [(keys: String, what: String)] { [] }
}

/// How a dialog shows: a box over the screen, or a prompt on the status line (search). A
/// dialog gives the app one of these and the app draws it — no dialog draws itself, so none
/// can take the keys while nothing of it is on screen.
enum DialogFace {
    case box(Dialog)
    case prompt(String)
}

/// A modal dialog on the app's stack: the top one gets every key; Esc (or its own keys) closes it.
protocol ExplorerDialog: AnyObject {
    /// What to draw for it on a screen of this size.
    func face(in screenArea: Rect, _ m: ExplorerModel) -> DialogFace
    func handle(_ key: Key, _ m: ExplorerModel) -> ExplorerAction
    /// The command the dialog would run, for the status line; nil keeps the screen's.
    func command(_ m: ExplorerModel) -> String?
}

extension ExplorerDialog {
    func command(_ m: ExplorerModel) -> String? { nil }
}
