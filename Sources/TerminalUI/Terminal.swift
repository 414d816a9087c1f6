/// What the user did.
public enum Event: Hashable, Sendable {
    case key(Key)
    case resize(width: Int, height: Int)
    case mouse(x: Int, y: Int, button: Int)
}

public enum Key: Hashable, Sendable {
    case character(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, tab, backTab, backspace
    case function(Int)
}

/// Where frames go and events come from. The ncurses backend and the in-memory backend
/// (tests) both implement it; everything above draws into a `Canvas` only.
public protocol Terminal: AnyObject {
    var size: (width: Int, height: Int) { get }
    func draw(_ canvas: Canvas)
    /// Waits up to `timeoutMs` for an event (nil: none).
    func poll(timeoutMs: Int) -> Event?
}

/// A terminal in memory: frames are kept, events are queued by the test.
public final class MemoryTerminal: Terminal {
    public var size: (width: Int, height: Int)
    public private(set) var frames: [Canvas] = []
    public var events: [Event] = []

    public init(width: Int, height: Int) { size = (width, height) }

    public func draw(_ canvas: Canvas) { frames.append(canvas) }

    public func poll(timeoutMs: Int) -> Event? {
        guard !events.isEmpty else { return nil }
        let e = events.removeFirst()
        if case .resize(let w, let h) = e { size = (w, h) }
        return e
    }

    public var lastFrame: Canvas? { frames.last }
}
