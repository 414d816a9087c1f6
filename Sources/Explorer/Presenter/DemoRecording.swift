import P2PEngine
import PCISources
import PCITopology
import TerminalUI

/// `demo --record FILE`: the story as it played — each step's stage as text and the engine's
/// state and the step's answer as JSON (`p2ptop.demo-recording/1`) — for a speaker to publish;
/// `demo --replay FILE` shows it again without running anything.
public struct DemoRecording {
    public static let schema = "p2ptop.demo-recording/1"
    public var story: String
    public var title: String
    public var width: Int, height: Int
    public private(set) var frames: [JSON] = []

    public init(story: String, title: String, width: Int, height: Int) {
        self.story = story; self.title = title; self.width = width; self.height = height
    }

    /// Adds the presenter's current stage (drawn at the recording's size) and state.
    public mutating func add(_ p: Presenter) {
        var c = Canvas(width: width, height: height)
        c.monochrome = true
        p.render(into: &c)
        let e = p.runner.engine
        let pools: [JSON] = e.providers.sorted { $0.key < $1.key }.map { b, pool in
            .object([("device", .string(b.description)), ("size", .int(Int64(pool.size))), ("allocated", .int(Int64(pool.size - pool.available)))])
        }
        var event: JSON = .null
        if let ev = p.currentEvent, p.position > 0, !p.ended {
            event = .object([("line", .int(Int64(ev.line))), ("text", .string(ev.text)), ("outcome", .string(ev.outcome)),
                             ("expected", ev.expected.map { .string($0) } ?? .null), ("matched", .bool(ev.matched)),
                             ("explanation", .string(Explain.outcome(ev.action, ev.outcome))), ("detail", .string(ev.detail))])
        }
        let engine: JSON = .object([
            ("foll_pin_acquired_pages", .int(Int64(e.vmstat.nr_foll_pin_acquired))),
            ("foll_pin_released_pages", .int(Int64(e.vmstat.nr_foll_pin_released))),
            ("pins_outstanding_pages", .int(Int64(e.vmstat.outstanding))),
            ("mappings", .int(Int64(e.vmas.filter { !$0.zapped }.count))),
            ("dmabufs", .int(Int64(e.dmabufs.count))),
            ("p2pmem", .array(pools)),
        ])
        frames.append(.object([
            ("step", .int(Int64(p.position))), ("of", .int(Int64(p.stepCount))), ("ended", .bool(p.ended)),
            ("event", event), ("engine", engine), ("screen", .array(c.lines.map { .string(trimmedRight($0)) })),
        ]))
    }

    /// Adds a frame made elsewhere (the lab story: its stage, and the kernel's answer in `event`).
    public mutating func add(step: Int, of: Int, ended: Bool, event: JSON, engine: JSON, screen: [String]) {
        frames.append(.object([("step", .int(Int64(step))), ("of", .int(Int64(of))), ("ended", .bool(ended)),
                               ("event", event), ("engine", engine), ("screen", .array(screen.map { .string(trimmedRight($0)) }))]))
    }

    public var document: JSON {
        .object([("schema", .string(Self.schema)), ("story", .string(story)), ("title", .string(title)),
                 ("width", .int(Int64(width))), ("height", .int(Int64(height))), ("frames", .array(frames))])
    }

    /// A talk's recording holds a frame per step: far fewer than these.
    static let maxFrames = 100_000, maxSteps = 100_000

    /// The frames of a recording: each screen as lines, with its step. Errors name the field.
    public static func load(_ bytes: [UInt8], file: String) throws(DemoRecordingError) -> (title: String, frames: [(step: Int, of: Int, screen: [String])]) {
        let doc: JSON
        do { doc = try JSON.parse(bytes) } catch { throw DemoRecordingError("\(file):\(error.line): \(error.message)") }
        guard doc["schema"]?.stringValue == schema else { throw DemoRecordingError("\(file): schema: expected \"\(schema)\" (a file written by p2ptop demo --record)") }
        guard let frames = doc["frames"]?.arrayValue, !frames.isEmpty, frames.count <= maxFrames else {
            throw DemoRecordingError("\(file): frames: expected a non-empty array of at most \(maxFrames) frames")
        }
        var out: [(step: Int, of: Int, screen: [String])] = []
        for (i, f) in frames.enumerated() {
            guard let lines = f["screen"]?.arrayValue?.compactMap(\.stringValue), !lines.isEmpty, lines.count <= 1000 else {
                throw DemoRecordingError("\(file): frames[\(i)].screen: expected an array of at most 1000 lines")
            }
            guard let of = f["of"].map({ $0.int(in: 0...maxSteps) }) ?? 0 else {
                throw DemoRecordingError("\(file): frames[\(i)].of: expected a whole number of steps from 0 to \(maxSteps)")
            }
            guard let step = f["step"].map({ $0.int(in: 0...of) }) ?? 0 else {
                throw DemoRecordingError("\(file): frames[\(i)].step: expected a whole number from 0 to its 'of' (\(of))")
            }
            out.append((step, of, lines.map { String($0.prefix(1000)) }))
        }
        return (doc["title"]?.stringValue ?? file, out)
    }
}

public struct DemoRecordingError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ d: String) { description = d }
}

func trimmedRight(_ s: String) -> String {
    var t = Substring(s)
    while t.last == " " { t = t.dropLast() }
    return String(t)
}

/// Plays a recording: space/→ the next frame, ← the one before, `r` the first, `q` quits.
public final class DemoReplay {
    let title: String
    let frames: [(step: Int, of: Int, screen: [String])]
    public private(set) var index = 0
    public private(set) var quit = false
    var theme: Theme

    public init(title: String, frames: [(step: Int, of: Int, screen: [String])], theme: Theme) {
        self.title = title; self.frames = frames; self.theme = theme
    }

    public func handle(_ event: Event) {
        guard case .key(let k) = event else { return }
        switch k {
        case .character("q"), .escape: quit = true
        case .character(" "), .enter, .right, .pageDown: index = min(frames.count - 1, index + 1)
        case .left, .backspace, .pageUp: index = max(0, index - 1)
        case .character("r"), .home: index = 0
        default: break
        }
    }

    public func render(into c: inout Canvas) {
        c.fill(c.area, theme.text)
        let f = frames[index]
        let (body, status) = c.area.rows(c.height - 1)
        for (y, line) in f.screen.prefix(body.height).enumerated() { c.put(line, x: 0, y: y, theme.text, clip: body) }
        c.fill(status, theme.header)
        c.put(" replay · frame \(index + 1)/\(frames.count) · space/→ next  ← back  r first  q quit · \(title)", x: 0, y: status.y, theme.header, clip: status)
    }
}
