import TextSafety
import P2PDMA
import P2PEngine
import PCITopology
import TerminalUI

/// Presenter mode: a story played one step per key press on a stage — the machine with the
/// pair in play, the engine's state, the step list, a large caption saying what the kernel did
/// and why. Space/→ next, ← back (the story replayed to the step before on a fresh engine),
/// `r` restart, `q` quit. The counter counts the steps the list shows (captions are chapter
/// titles, not steps).
public final class Presenter {
    /// One step the audience sees: a scenario step that is not a caption, with its chapter.
    struct Item {
        var step: Int
        var chapter: String?
        var text: String
    }

    public let scenario: Scenario
    let makeRunner: () throws -> ScenarioRunner
    public private(set) var runner: ScenarioRunner
    public var theme: Theme
    let items: [Item]
    let cast: StoryCast
    /// Steps shown done; 0 is the opening card.
    public private(set) var position = 0
    /// The events of the steps run so far (captions included), in order.
    public private(set) var events: [ScenarioRunner.Event] = []
    /// Every step has run and the engine has been cleaned up: the closing card shows.
    public private(set) var ended = false
    public private(set) var quit = false
    /// Called with the frame and the engine state after each change (`demo --record`).
    public var onFrame: ((Presenter) -> Void)?

    /// `makeRunner` builds a fresh engine and runner (back and restart replay from scratch).
    public init(makeRunner: @escaping () throws -> ScenarioRunner, theme: Theme) throws {
        self.makeRunner = makeRunner
        runner = try makeRunner()
        scenario = runner.scenario
        self.theme = theme
        var chapter: String?
        var list: [Item] = []
        for (i, s) in scenario.steps.enumerated() {
            if s.action == "caption" { chapter = s.text; continue }
            list.append(Item(step: i, chapter: chapter, text: s.text))
        }
        items = list
        cast = StoryCast(scenario, on: runner.engine.topology)
    }

    public var stepCount: Int { items.count }
    var current: Item? { position > 0 && position <= items.count ? items[position - 1] : nil }
    /// The event of the step shown (the last non-caption event).
    var currentEvent: ScenarioRunner.Event? { position == 0 ? nil : events.last { $0.action != "caption" } }

    public func handle(_ event: Event) {
        guard case .key(let k) = event else { return }
        switch k {
        case .character("q"), .escape: quit = true; return
        case .character(" "), .enter, .right, .character("n"), .pageDown: advance()
        case .left, .character("p"), .backspace, .pageUp: back()
        case .character("r"), .home: restart()
        default: return
        }
        onFrame?(self)
    }

    /// Runs the next step the list shows (and the captions before it); after the last one,
    /// cleans up and shows the closing card.
    func advance() {
        guard !ended else { return }
        guard position < items.count else {
            runner.cleanup()
            ended = true
            return
        }
        let target = items[position].step
        while runner.next <= target && !runner.finished { events.append(runner.step()) }
        position += 1
    }

    /// One step back: a fresh engine, the story replayed silently to the step before.
    func back() {
        let target = ended ? items.count : max(0, position - 1)
        replay(to: target)
    }

    func restart() { replay(to: 0) }

    func replay(to target: Int) {
        guard let fresh = try? makeRunner() else { return }
        runner = fresh
        events = []
        position = 0
        ended = false
        while position < target { advance() }
    }

    public func render(into c: inout Canvas) {
        StageView(presenter: self).render(into: &c)
    }
}

/// Words into lines of at most `width` columns (a longer word stands alone).
public func wrapText(_ text: String, width: Int) -> [String] { TextWrap.paragraph(text, width: width) }
