import P2PDMA
import P2PEngine
import PCISources
import PCITopology
import Telemetry
import TerminalUI

/// The application: routes events to the top dialog or the current screen, applies what they
/// ask for, and draws header, screen, status line and dialogs into a canvas. It knows nothing
/// about terminals; the loop in the executable feeds it events. The shared state lives in
/// `model`; each screen and dialog keeps its own.
public final class ExplorerApp {
    public typealias Screen = ScreenID

    public let model: ExplorerModel
    /// The numbered screens, in header order: adding one is its file and a line here.
    let screens: [any ExplorerScreen] = [
        TopologyScreen(),
        DeviceScreen(),
        MatrixScreen(),
        PinsScreen(),
        TransfersScreen(),
        BarMapScreen(),
    ]
    private var current = 0
    /// Modal dialogs, the top one last: it gets the keys.
    private(set) var dialogs: [any ExplorerDialog] = []
    public private(set) var quit = false
    /// Where each screen's name was drawn in the header (a click there switches to it).
    private var tabs: [(range: Range<Int>, index: Int)] = []

    /// The keys that change something: transfers, ACS flips, maps, pins, unbinds, exports, revokes.
    static let actionKeys: Set<Character> = ["t", "a", "m", "P", "U", "u", "x", "r", "c"]

    public init(topology: Topology, analyzer: P2PAnalyzer, names: NameDatabase, theme: Theme, sourceFlags: String) {
        model = ExplorerModel(topology: topology, analyzer: analyzer, names: names, theme: theme, sourceFlags: sourceFlags)
    }

    // MARK: what callers and tests read

    public var screen: ScreenID { screens[current].id }
    public var topology: Topology { model.topology }
    public var analyzer: P2PAnalyzer { model.analyzer }
    public var theme: Theme { get { model.theme } set { model.theme = newValue } }
    public var jobs: [TransferJob] { model.jobs }
    public var arbiter: FabricArbiter { model.arbiter }
    public var blockDevices: [BlockDevice] { get { model.blockDevices } set { model.blockDevices = newValue } }
    public var rdma: RDMAInventory? { get { model.rdma } set { model.rdma = newValue } }
    public var hostFacts: HostFacts? { get { model.hostFacts } set { model.hostFacts = newValue } }
    public var measuredRates: (() -> [BDF: (read: Double, write: Double)])? { get { model.measuredRates } set { model.measuredRates = newValue } }
    public var gpuCounters: GPUCounterSource? { get { model.gpuCounters } set { model.gpuCounters = newValue } }
    public var readonly: Bool { get { model.readonly } set { model.readonly = newValue } }
    public var kindFilter: DeviceKind? { model.tree.kindFilter }
    public var highlightedPath: [BDF] { model.tree.highlightedPath }
    public var helpVisible: Bool { dialogs.last is HelpDialog }
    public var pathVisible: Bool { dialogs.last is PathDialog }
    public var transfersRunning: Bool { model.transfersRunning }
    /// How long the loop may wait for a key: short while something moves.
    public var refreshMilliseconds: Int { transfersRunning || model.kernel?.busy == true ? 100 : 1000 }
    /// The running kernel's side of the actions (lab guest; live with --allow-write as root).
    public var kernel: KernelActions? { get { model.kernel } set { model.kernel = newValue } }
    var message: String? { model.message }

    /// Selects a function in the tree (the device and BAR screens follow it).
    @discardableResult public func select(_ bdf: BDF) -> Bool { model.tree.select(bdf) }

    // MARK: input

    public func handle(_ event: Event) {
        switch event {
        case .mouse(let x, let y, let button): handleMouse(x: x, y: y, button: button)
        case .key(let key):
            // A message answers the key before; the next key gives the line back to the command.
            model.message = nil
            apply(route(key))
        default: break
        }
    }

    /// The top dialog takes every key; then the app's own keys; then the screen's.
    func route(_ key: Key) -> ExplorerAction {
        if let top = dialogs.last { return top.handle(key, model) }
        if model.readonly, case .character(let ch) = key, ExplorerApp.actionKeys.contains(ch) {
            model.message = "read-only (--readonly): '\(ch)' would change something"
            return .none
        }
        switch key {
        case .character("q"), .function(10): return .quit
        case .character("?"), .function(1): return .open(HelpDialog(screens: screens))
        case .tab: current = (current + 1) % screens.count
        case .backTab: current = (current + screens.count - 1) % screens.count
        case .character(let c) where c.wholeNumberValue.map({ (1...screens.count).contains($0) }) == true && c.isASCII:
            current = c.wholeNumberValue! - 1
        case .escape: model.tree.highlightedPath = []; model.message = nil
        case .character(let c) where ExplorerApp.actionKeys.contains(c): return actionKey(c)
        default: return screens[current].handle(key, model)
        }
        return .none
    }

    /// t a m P U u x r c: each opens the dialog that confirms it (or says why not).
    func actionKey(_ c: Character) -> ExplorerAction {
        let m = model
        switch c {
        case "t":
            if m.topology.source.kind == .live { return .open(RealReadDialog(m.realReadPlan())) }
            if let r = m.defaultTransfer() { return .open(TransferDialog(r)) }
            m.startTransfer(nil)
        case "a":
            guard m.topology.source.kind == .fabric || m.kernel?.lab == true else {
                m.message = "ACS can be flipped on demo fabrics (--fabric NAME) and in the kernel lab (p2ptop lab run)"; return .none
            }
            guard let d = m.selectedDevice, let dialog = ACSDialog.flip(d) else { m.message = "select a port with an ACS capability to flip its redirect bits"; return .none }
            return .open(dialog)
        case "m": if let d = m.selectedDevice { return .open(ActionDialog(.map(d.bdf))) }
        case "P": return .open(ActionDialog(.pin))
        case "U": return .open(ActionDialog(.unpin))
        case "u":
            if let d = m.selectedDevice, d.sysfs?.p2pmem != nil { return .open(ActionDialog(.unbind(d.bdf))) }
            m.message = "select a p2pmem provider to unbind"
        case "x":
            if let d = m.selectedDevice, let nic = m.topology.devices.first(where: { m.topology.kind($0.bdf) == .nic }) {
                return .open(ActionDialog(.export(d.bdf, importer: nic.bdf)))
            }
            m.message = "select a device whose BAR to export (and have a NIC to import it)"
        case "r": return .open(ActionDialog(.revoke))
        case "c":
            if let j = m.jobs.last(where: { !$0.snapshot.finished }) { j.cancel(); m.message = "cancelling \(j.label)" }
        default: break
        }
        return .none
    }

    func apply(_ action: ExplorerAction) {
        switch action {
        case .none: break
        case .open(let d): dialogs.append(d)
        case .close: _ = dialogs.popLast()
        case .replace(let d): _ = dialogs.popLast(); dialogs.append(d)
        case .show(let id): show(id)
        case .closeAndShow(let id): _ = dialogs.popLast(); show(id)
        case .quit: quit = true
        }
    }

    func show(_ id: ScreenID) {
        if let i = screens.firstIndex(where: { $0.id == id }) { current = i }
    }

    /// A click on a screen's name switches to it; other events go to the screen (none while a
    /// dialog is open: it is modal).
    func handleMouse(x: Int, y: Int, button: Int) {
        guard dialogs.isEmpty else { return }
        if y == 0, button != 4, button != 5 {
            if let tab = tabs.first(where: { $0.range.contains(x) }) { current = tab.index }
            return
        }
        apply(screens[current].click(x: x, y: y, button: button, model))
    }

    // MARK: rendering

    public static let minimumSize = (width: 60, height: 15)

    public func render(into c: inout Canvas) {
        let t = model.theme
        c.fill(c.area, t.text)
        if c.width < ExplorerApp.minimumSize.width || c.height < ExplorerApp.minimumSize.height {
            // An open dialog still has the keys: say so, and how to close it.
            let quits = dialogs.isEmpty ? "q quits" : "a dialog is open: Esc closes it"
            c.put("terminal too small: p2ptop needs 60×15 (now \(c.width)×\(c.height)); \(quits)", x: 0, y: 0, t.warn)
            return
        }
        let (header, rest) = c.area.rows(1)
        let (status, body) = rest.rows(-1)
        renderHeader(header, &c)
        screens[current].render(in: body, on: &c, model)
        renderStatus(status, &c)
        for d in dialogs { if case .box(let box) = d.face(in: c.area, model) { box.render(in: c.area, on: &c) } }
    }

    func renderHeader(_ a: Rect, _ c: inout Canvas) {
        let t = model.theme
        c.fill(a, t.header)
        var x = c.put(" p2ptop ", x: a.x, y: a.y, t.header.bold())
        tabs = []
        for (i, s) in screens.enumerated() {
            let label = " \(i + 1) \(s.id.title) "
            let start = x
            x = c.put(label, x: x, y: a.y, i == current ? t.selection.bold() : t.header, clip: a)
            tabs.append((start..<x, i))
        }
        // The longest right-hand summary that fits whole after the tabs; none rather than a cut one.
        let k = "kernel \(model.analyzer.kernel)", n = "\(model.topology.devices.count) functions"
        let choices = ["\(k) · CPU \(model.analyzer.cpu) · \(n) ", "\(k) · \(n) ", "\(k) "]
        if let right = choices.first(where: { x + 1 + $0.count <= a.maxX }) {
            c.put(right, x: a.maxX - right.count, y: a.y, t.header, clip: a)
        }
    }

    /// The p2ptop command for what is on screen (or what the open dialog would run).
    var commandEquivalent: String {
        for d in dialogs.reversed() { if let cmd = d.command(model) { return cmd } }
        return screens[current].command(model)
    }

    func renderStatus(_ a: Rect, _ c: inout Canvas) {
        let t = model.theme
        c.fill(a, t.header)
        // "started: …" stands while its transfer runs; once none does, the command line is back.
        let message = model.message.flatMap { $0.hasPrefix("started: ") && !model.transfersRunning ? nil : $0 }
        var prompt: String?
        if let top = dialogs.last, case .prompt(let p) = top.face(in: a, model) { prompt = p }
        let left = " " + (prompt ?? message ?? commandEquivalent)
        c.put(left, x: a.x, y: a.y, t.header, clip: a)
        let keys = "?:help  Tab:screens  q:quit "
        if a.width > left.count + keys.count + 2 { c.put(keys, x: a.maxX - keys.count, y: a.y, t.header, clip: a) }
    }
}
