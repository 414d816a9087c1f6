import P2PDMA
import P2PEngine
import PCISources
import Telemetry
import PCITopology
import TerminalUI

/// The application: state, key → action, and a render of the current screen into a canvas.
/// It knows nothing about terminals; the loop in the executable feeds it events.
public final class ExplorerApp {
    public enum Screen: Int, CaseIterable, Sendable {
        case topology = 1, device, matrix, pins, transfers, bars
        var title: String {
            switch self {
            case .topology: return "Topology"
            case .device: return "Device"
            case .matrix: return "P2P matrix"
            case .pins: return "Pins"
            case .transfers: return "Transfers"
            case .bars: return "BARs"
            }
        }
    }

    public private(set) var topology: Topology
    public private(set) var analyzer: P2PAnalyzer
    let names: NameDatabase
    public var theme: Theme
    /// The flags that name the source, for the status line's `p2ptop …` equivalent.
    let sourceFlags: String

    public private(set) var screen: Screen = .topology
    public private(set) var quit = false
    public private(set) var helpVisible = false
    /// The hop-by-hop path dialog of the selected matrix pair.
    public private(set) var pathVisible = false
    var treeState = ListState()
    var collapsed = Set<BDF>()
    var searching = false
    var search = ""
    var rows: [TreeRow] = []
    var matrixRow = 0, matrixCol = 1
    var endpoints: [Device]
    var matrixCache: [BDF: [BDF: Verdict]] = [:]
    /// Show only these kinds of devices (and the bridges above them); nil = all.
    public private(set) var kindFilter: DeviceKind?
    /// Hops of the pair last opened from the matrix, marked in the tree.
    public private(set) var highlightedPath: [BDF] = []
    static let filterCycle: [DeviceKind?] = [nil, .gpu, .nic, .nvme, .accelerator, .storage]
    /// Transfers started from the keyboard, newest last.
    public internal(set) var jobs: [TransferJob] = []
    /// The modelled fabric's links, shared max-min fairly by the transfers running together.
    public let arbiter = FabricArbiter()
    /// The transfer dialog's request while it is open.
    var pendingTransfer: (TransferRequest, String)?
    /// On the live machine: the real O_DIRECT read the dialog offers.
    var pendingRealRead: RealReadPlan?
    /// The live machine's block devices by PCI function (set by the caller; empty elsewhere).
    public var blockDevices: [BlockDevice] = []
    /// One line of feedback in the status bar.
    var message: String?
    /// The ACS flip waiting for confirmation: the bridge and the control bits it would get.
    var pendingACS: (BDF, ACSBits)?
    /// An engine action waiting for confirmation, and the session engine the actions use.
    var pendingAction: Action?
    var actionSession: ActionSession?
    var pendingUnbind: BDF?
    /// RDMA devices of the machine shown (live: libibverbs; a captured root: its sysfs); nil for
    /// recorded sources and demo fabrics, where RDMA is modelled by the engine.
    public var rdma: RDMAInventory?
    /// What the kernel allows on the machine shown (the doctor's host facts), where known.
    public var hostFacts: HostFacts?
    let telemetry = Telemetry.standard(root: "/")
    var lastTelemetry = 0.0
    /// Where the tree's per-device rates come from: the live counters by default; a bench (or a
    /// recorded machine's replay) may supply its own.
    public var measuredRates: (() -> [BDF: (read: Double, write: Double)])?
    /// The BAR map's scale: logarithmic (sizes from 4K to 64G side by side) or linear.
    var barsLinear = false
    /// `--readonly`: every action that changes anything (the engine's or the machine's) is off.
    public var readonly = false
    /// The keys that change something: transfers, ACS flips, maps, pins, unbinds, exports, revokes.
    static let actionKeys: Set<Character> = ["t", "a", "m", "P", "U", "u", "x", "r", "c"]

    public init(topology: Topology, analyzer: P2PAnalyzer, names: NameDatabase, theme: Theme, sourceFlags: String) {
        self.topology = topology; self.analyzer = analyzer; self.names = names; self.theme = theme
        self.sourceFlags = sourceFlags
        endpoints = analyzer.endpoints
        rebuildRows()
    }

    var selectedDevice: Device? { rows.indices.contains(treeState.selected) ? topology.device(rows[treeState.selected].bdf) : nil }

    // MARK: input

    /// Where the tree was drawn last (mouse clicks map to rows through it).
    var treeArea = Rect(x: 0, y: 0, width: 0, height: 0)

    public func handle(_ event: Event) {
        if case .mouse(let x, let y, let button) = event {
            handleMouse(x: x, y: y, button: button)
            return
        }
        guard case .key(let key) = event else { return }
        if helpVisible {
            if key == .escape || key == .character("?") || key == .function(1) || key == .character("q") { helpVisible = false }
            return
        }
        if let a = pendingAction {
            if key == .enter { perform(a) }
            if key == .enter || key == .escape || key == .character("q") { pendingAction = nil }
            return
        }
        if let (bdf, bits) = pendingACS {
            if key == .enter { applyACS(bdf, bits) }
            if key == .enter || key == .escape || key == .character("q") { pendingACS = nil }
            return
        }
        if pendingTransfer != nil {
            switch key {
            case .enter: startTransfer(); screen = .transfers
            case .escape, .character("q"): pendingTransfer = nil
            default: editTransfer(key)
            }
            return
        }
        if let plan = pendingRealRead {
            switch key {
            case .enter: pendingRealRead = nil; startRealRead(plan); screen = .transfers
            case .escape: pendingRealRead = nil
            default: editRealRead(key)
            }
            return
        }
        if pathVisible {
            if key == .escape || key == .character("p") || key == .character("q") || key == .enter { pathVisible = false }
            return
        }
        if searching {
            switch key {
            case .escape: searching = false; search = ""
            case .enter: searching = false; jumpToMatch(from: treeState.selected)
            case .backspace: if !search.isEmpty { search.removeLast() }
            case .character(let c): search.append(c); jumpToMatch(from: treeState.selected)
            default: break
            }
            return
        }
        if readonly, case .character(let ch) = key, ExplorerApp.actionKeys.contains(ch) {
            message = "read-only (--readonly): '\(ch)' would change something"
            return
        }
        switch key {
        case .character("q"), .function(10): quit = true
        case .character("?"), .function(1): helpVisible = true
        case .function(3): if screen == .topology { searching = true; search = "" }
        case .tab: screen = Screen(rawValue: screen.rawValue % Screen.allCases.count + 1)!
        case .backTab: screen = Screen(rawValue: (screen.rawValue + Screen.allCases.count - 2) % Screen.allCases.count + 1)!
        case .character(let c) where ("1"..."6").contains(c): screen = Screen(rawValue: Int(String(c))!)!
        case .character("l") where screen == .bars: barsLinear.toggle()
        case .character("/"): if screen == .topology { searching = true; search = "" }
        case .character("n"): jumpToMatch(from: treeState.selected + 1)
        case .character("f"):
            let i = ExplorerApp.filterCycle.firstIndex { $0 == kindFilter } ?? 0
            kindFilter = ExplorerApp.filterCycle[(i + 1) % ExplorerApp.filterCycle.count]
            let keep = selectedDevice?.bdf
            rebuildRows()
            treeState.selected = rows.firstIndex { $0.bdf == keep } ?? 0
        case .escape: highlightedPath = []; message = nil
        case .character("t"):
            if topology.source.kind == .live { pendingRealRead = realReadPlan() } else if let d = defaultTransfer() { pendingTransfer = d } else { startTransfer() }
        case .character("a"):
            guard topology.source.kind == .fabric else { message = "ACS can be flipped on demo fabrics only (--fabric NAME)"; return }
            guard let d = selectedDevice, let acs = d.acs else { message = "select a port with an ACS capability to flip its redirect bits"; return }
            let redirecting = !acs.control.isDisjoint(with: .p2pRedirect)
            pendingACS = (d.bdf, redirecting ? acs.control.subtracting(.p2pRedirect) : acs.control.union([.requestRedirect, .completionRedirect]))
        case .character("m"): if let d = selectedDevice { pendingAction = .map(d.bdf) }
        case .character("P"): pendingAction = .pin
        case .character("U"): pendingAction = .unpin
        case .character("u"):
            if let d = selectedDevice, d.sysfs?.p2pmem != nil { pendingAction = .unbind(d.bdf) } else { message = "select a p2pmem provider to unbind" }
        case .character("x"):
            if let d = selectedDevice, let nic = topology.devices.first(where: { topology.kind($0.bdf) == .nic }) { pendingAction = .export(d.bdf, importer: nic.bdf) }
        case .character("r"): pendingAction = .revoke
        case .character("c"):
            if let j = jobs.last(where: { !$0.snapshot.finished }) { j.cancel(); message = "cancelling \(j.label)" }
        default: move(key)
        }
    }

    func move(_ key: Key) {
        switch screen {
        case .topology, .device:
            switch key {
            case .up, .character("k"): treeState.selected -= 1
            case .down, .character("j"): treeState.selected += 1
            case .pageUp: treeState.selected -= 10
            case .pageDown: treeState.selected += 10
            case .home: treeState.selected = 0
            case .end: treeState.selected = rows.count - 1
            case .left, .character("h"): toggle(collapse: true)
            case .right, .character("l"): toggle(collapse: false)
            case .enter:
                if let d = selectedDevice, d.isBridge { toggle(collapse: !collapsed.contains(d.bdf)) } else { screen = .device }
            default: break
            }
            treeState.selected = max(0, min(rows.count - 1, treeState.selected))
        case .matrix:
            let n = endpoints.count
            switch key {
            case .up, .character("k"): matrixRow = max(0, matrixRow - 1)
            case .down, .character("j"): matrixRow = min(n - 1, matrixRow + 1)
            case .left, .character("h"): matrixCol = max(0, matrixCol - 1)
            case .right, .character("l"): matrixCol = min(n - 1, matrixCol + 1)
            case .character("p"):
                pathVisible = matrixRow != matrixCol
            case .enter:
                // Show the pair's path in the tree, the provider selected.
                if matrixRow != matrixCol { highlightedPath = verdict(endpoints[matrixRow].bdf, endpoints[matrixCol].bdf).hops }
                kindFilter = nil
                collapsed.subtract(highlightedPath)
                rebuildRows()
                if let i = rows.firstIndex(where: { $0.bdf == endpoints[matrixRow].bdf }) { treeState.selected = i }
                screen = .topology
            default: break
            }
        default: break
        }
    }

    /// Wheel scrolls, a click selects a row (a second click on the selected row opens it).
    func handleMouse(x: Int, y: Int, button: Int) {
        guard !helpVisible, !pathVisible, screen == .topology || screen == .device else { return }
        switch button {
        case 4: treeState.selected = max(0, treeState.selected - 3)
        case 5: treeState.selected = min(rows.count - 1, treeState.selected + 3)
        default:
            guard screen == .topology, y >= treeArea.y, y < treeArea.maxY, x >= treeArea.x, x < treeArea.maxX else { return }
            let row = treeState.offset + (y - treeArea.y)
            guard row < rows.count else { return }
            if row == treeState.selected { move(.enter) } else { treeState.selected = row }
        }
    }

    /// Applies an ACS change to the model: new topology, new verdicts everywhere.
    func applyACS(_ bdf: BDF, _ bits: ACSBits) {
        guard let d = topology.device(bdf), let edited = d.withACSControl(bits) else { return }
        topology = topology.replacing(edited)
        analyzer = P2PAnalyzer(topology: topology, kernel: analyzer.kernel, cpu: analyzer.cpu)
        matrixCache = [:]
        endpoints = analyzer.endpoints
        let offset = d.acs!.offset + 6
        message = "setpci -s \(bdf) \(String(offset, radix: 16)).w=\(hex(bits.rawValue, width: 4))   (ACSCtl on the model; the matrix is updated)"
        let keep = selectedDevice?.bdf
        rebuildRows()
        treeState.selected = rows.firstIndex { $0.bdf == keep } ?? treeState.selected
    }

    func toggle(collapse: Bool) {
        guard let d = selectedDevice, d.isBridge else { return }
        if collapse { collapsed.insert(d.bdf) } else { collapsed.remove(d.bdf) }
        let keep = d.bdf
        rebuildRows()
        treeState.selected = rows.firstIndex { $0.bdf == keep } ?? 0
    }

    func jumpToMatch(from start: Int) {
        guard !search.isEmpty, !rows.isEmpty else { return }
        let needle = search.lowercased()
        for k in 0..<rows.count {
            let i = (start + k) % rows.count
            if rows[i].searchText.contains(needle) { treeState.selected = i; return }
        }
    }

    // MARK: rendering

    public static let minimumSize = (width: 60, height: 15)

    public func render(into c: inout Canvas) {
        c.fill(c.area, theme.text)
        if c.width < ExplorerApp.minimumSize.width || c.height < ExplorerApp.minimumSize.height {
            c.put("terminal too small: p2ptop needs 60×15 (now \(c.width)×\(c.height)); q quits", x: 0, y: 0, theme.warn)
            return
        }
        let (header, rest) = c.area.rows(1)
        let (status, body) = rest.rows(-1)
        renderHeader(header, &c)
        switch screen {
        case .topology: renderTopology(body, &c)
        case .device: renderDevice(body, &c)
        case .matrix: renderMatrix(body, &c)
        case .pins: renderPins(body, &c)
        case .transfers: renderTransfers(body, &c)
        case .bars: renderBarMap(body, &c)
        }
        renderStatus(status, &c)
        if pathVisible && screen == .matrix { renderPath(c.area, &c) }
        if pendingTransfer != nil { renderTransferDialog(c.area, &c) }
        if pendingRealRead != nil { renderRealReadDialog(c.area, &c) }
        if let a = pendingAction { renderActionDialog(a, c.area, &c) }
        if let (bdf, bits) = pendingACS {
            let name = topology.alias(bdf) ?? bdf.short
            Dialog(title: "Flip ACS redirect", lines: [
                [Span("\(name) \(bdf): ACSCtl becomes", theme.text)],
                [Span("  " + bits.lspciFlags, bits.isDisjoint(with: .p2pRedirect) ? theme.good : theme.bad)],
                [Span("Pairs below it are then " + (bits.isDisjoint(with: .p2pRedirect) ? "BUS_ADDR again." : "routed through the root complex (or refused)."), theme.dim)],
                [],
                [Span("Enter", theme.accent), Span(" applies (on the model; real machines: setpci)   "), Span("Esc", theme.accent), Span(" cancels")],
            ], style: theme.text, border: theme.border).render(in: c.area, on: &c)
        }
        if helpVisible { renderHelp(c.area, &c) }
    }

    func renderHeader(_ a: Rect, _ c: inout Canvas) {
        c.fill(a, theme.header)
        var x = c.put(" p2ptop ", x: a.x, y: a.y, theme.header.bold())
        for s in Screen.allCases {
            let label = " \(s.rawValue) \(s.title) "
            x = c.put(label, x: x, y: a.y, s == screen ? theme.selection.bold() : theme.header, clip: a)
        }
        let right = "kernel \(analyzer.kernel) · CPU \(analyzer.cpu) · \(topology.devices.count) functions "
        c.put(right, x: max(x + 1, a.maxX - right.count), y: a.y, theme.header, clip: a)
    }

    var commandEquivalent: String {
        if let (r, _) = pendingTransfer { return transferCommand(r) }
        if let p = pendingRealRead, !p.path.isEmpty { return p.command }
        switch screen {
        case .topology: return "p2ptop tree" + sourceFlags
        case .device: return "p2ptop show \(selectedDevice.map { topology.alias($0.bdf) ?? $0.bdf.description } ?? "")" + sourceFlags
        case .matrix:
            guard endpoints.count > 1 else { return "p2ptop matrix" + sourceFlags }
            let p = endpoints[matrixRow], q = endpoints[matrixCol]
            return "p2ptop path \(topology.alias(p.bdf) ?? p.bdf.description) \(topology.alias(q.bdf) ?? q.bdf.description)" + sourceFlags
        case .pins: return "p2ptop watch"
        case .bars: return "p2ptop bars \(selectedDevice.map { topology.alias($0.bdf) ?? $0.bdf.description } ?? "")" + sourceFlags
        case .transfers:
            guard let j = jobs.last else { return "p2ptop transfer" + sourceFlags + " --from … --to …" }
            return j.command
        }
    }

    func renderStatus(_ a: Rect, _ c: inout Canvas) {
        c.fill(a, theme.header)
        let left = searching ? " /\(search)▏" : " " + (message ?? commandEquivalent)
        c.put(left, x: a.x, y: a.y, theme.header, clip: a)
        let keys = "?:help  Tab:screens  q:quit "
        if a.width > left.count + keys.count + 2 { c.put(keys, x: a.maxX - keys.count, y: a.y, theme.header, clip: a) }
    }

    func renderHelp(_ screenArea: Rect, _ c: inout Canvas) {
        var lines: [Line] = [
            [Span("q F10", theme.accent), Span("  quit")],
            [Span("? F1", theme.accent), Span("  this help; Esc closes it")],
            [Span("Tab Shift-Tab 1-6", theme.accent), Span("  switch screens: topology, device, matrix, pins, transfers, BARs")],
            [Span("l", theme.accent), Span("  BARs: log or linear scale")],
            [Span("↑↓ j k  PgUp PgDn Home End", theme.accent), Span("  move")],
            [Span("← → h l", theme.accent), Span("  collapse / expand a bridge (matrix: move)")],
            [Span("Enter", theme.accent), Span("  expand, or open the device; on the matrix: mark the pair's path in the tree")],
            [Span("p", theme.accent), Span("  on the matrix: the pair's hops, links, ACS bits and bottleneck")],
            [Span("/ F3 n", theme.accent), Span("  search the tree, next match")],
            [Span("f", theme.accent), Span("  filter the tree by kind: all, GPU, NIC, NVMe, accelerator, storage")],
            [Span("Esc", theme.accent), Span("  clear the path marked from the matrix")],
            [Span("t  c", theme.accent), Span("  start a transfer (a dialog; Enter accepts; live: a real O_DIRECT read), cancel it")],
            [Span("  in the dialog", theme.accent), Span("  ←/→ ↑/↓ devices, m method, +/- size")],
            [Span("a", theme.accent), Span("  flip ACS redirect (RR, CR) on the selected port — demo fabrics; the matrix follows")],
            [Span("m P U", theme.accent), Span("  map the selected device's memory, pin 256 pages of it, unpin")],
            [Span("u  x r", theme.accent), Span("  unbind the selected provider; export its BAR as a dma-buf, revoke it")],
            [Span("", theme.dim)],
            [Span("The bottom line shows the p2ptop command for what is on screen.", theme.dim)],
        ]
        // --readonly: the keys that would change something are not offered at all.
        if readonly {
            lines.removeAll { line in
                guard let first = line.first?.text else { return false }
                let keys = first.split(separator: " ")
                return first.hasSuffix("in the dialog") || (!keys.isEmpty && keys.allSatisfy { $0.count == 1 && ExplorerApp.actionKeys.contains($0.first!) })
            }
            lines.insert([Span("read-only (--readonly): nothing here changes the machine or the model", theme.warn)], at: 0)
        }
        Dialog(title: "Keys", lines: lines, style: theme.text, border: theme.border).render(in: screenArea, on: &c)
    }
}
