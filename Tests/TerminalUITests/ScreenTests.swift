import Foundation
import Testing
@testable import Explorer
import P2PDMA
@testable import PCISources
import PCITopology
import P2PEngine
import Telemetry
import RealBackends
import LinuxFiles
@testable import TerminalUI

/// Each screen and each dialog on its own: made directly, drawn into a canvas, driven by keys
/// and clicks, without the app around it.
@Suite struct ScreenTests {
    static func model(_ t: Topology) throws -> ExplorerModel {
        let a = P2PAnalyzer(topology: t, kernel: .latest, cpu: CPUInfo(vendor: t.host.cpuVendor, family: t.host.cpuFamily))
        return ExplorerModel(topology: t, analyzer: a, names: NameDatabase(useHWDB: false), theme: try Theme.load("default", readFile: { _ in nil }),
                             sourceFlags: " --fabric x", telemetryRoot: "/nonexistent")
    }

    static func demo() throws -> ExplorerModel { try model(try DemoFabrics.load("icelake-gpu-switch")) }

    static func draw(_ s: any ExplorerScreen, _ m: ExplorerModel, _ w: Int = 120, _ h: Int = 40) -> String {
        var c = Canvas(width: w, height: h)
        s.render(in: c.area, on: &c, m)
        return c.text
    }

    static func draw(_ d: any ExplorerDialog, _ m: ExplorerModel, _ w: Int = 120, _ h: Int = 40) -> String {
        var c = Canvas(width: w, height: h)
        if case .box(let box) = d.face(in: c.area, m) { box.render(in: c.area, on: &c) }
        return c.text
    }

    @Test func topologyScreenMovesCollapsesSearchesAndTakesClicks() throws {
        let m = try Self.demo(), s = TopologyScreen()
        #expect(Self.draw(s, m).contains("19:00.0 gpu0"))
        let n = m.tree.rows.count
        _ = s.handle(.down, m); _ = s.handle(.down, m)
        #expect(m.tree.list.selected == 2)
        _ = s.handle(.home, m); _ = s.handle(.down, m)     // the first root port
        _ = s.handle(.left, m)
        #expect(m.tree.rows.count < n && !Self.draw(s, m).contains("19:00.0 gpu0"))
        _ = s.handle(.right, m)
        #expect(m.tree.rows.count == n)
        guard case .open(let d) = s.handle(.function(3), m), let search = d as? SearchDialog else { Issue.record("F3 opens no search"); return }
        for ch in "nvme1" { _ = search.handle(.character(ch), m) }
        #expect(m.selectedDevice?.bdf == m.topology.devices.first { m.topology.alias($0.bdf) == "nvme1" }?.bdf)
        #expect(search.prompt == "/nvme1▏")
        // A click on a row selects it; a second click on a leaf opens the device screen.
        _ = Self.draw(s, m)
        _ = s.click(x: 10, y: s.rowsArea.y + 3, button: 1, m)
        #expect(m.tree.list.selected == 3)
        _ = s.click(x: 10, y: s.rowsArea.y + 5, button: 1, m)
        let row5 = m.tree.selected!
        let second = s.click(x: 10, y: s.rowsArea.y + 5, button: 1, m)
        if m.topology.device(row5)?.isBridge == false {
            guard case .show(let id) = second else { Issue.record("no device screen"); return }
            #expect(id == .device)
        }
        _ = s.click(x: 0, y: 0, button: 5, m)
        #expect(m.tree.list.selected == 8)
    }

    @Test func deviceScreenFollowsTheSelectionAndScrollsWithTheWheel() throws {
        let m = try Self.demo(), s = DeviceScreen()
        m.tree.select(try m.topology.resolve("gpu0").bdf)
        let top = Self.draw(s, m, 100, 12)
        #expect(top.contains("0000:19:00.0 (gpu0)"))
        _ = s.click(x: 5, y: 5, button: 5, m)
        let scrolled = Self.draw(s, m, 100, 12)
        #expect(s.scroll > 0 && scrolled != top && !scrolled.contains("kind      "))
        let gpu = try m.topology.resolve("gpu0").bdf
        _ = s.handle(.down, m)
        #expect(s.scroll == 0 && m.selectedDevice?.bdf != gpu)
    }

    final class FakeGPUs: GPUCounterSource {
        var unavailable: String?
        var gpus: [GPUCounters]
        init(_ gpus: [GPUCounters], unavailable: String? = nil) { self.gpus = gpus; self.unavailable = unavailable }
        func sample() -> [GPUCounters] { gpus }
    }

    /// NVML's figures on the device screen and as the GPU's rate on the tree; where NVML is
    /// absent the GPU says so, and no rate (not 0) shows.
    @Test func gpuCountersFromNVMLOrWhyNot() throws {
        let t = try DemoFabrics.load("icelake-gpu-switch")
        let live = Topology(devices: t.devices, host: t.host, source: SourceInfo(kind: .live, path: "/", privileged: true))
        let m = try Self.model(live)
        let gpu = try m.topology.resolve("gpu0").bdf
        m.gpuCounters = FakeGPUs([GPUCounters(busID: gpu.description, rxBytesPerSecond: 12e9, txBytesPerSecond: 1e6, bar1Used: 2 << 30, bar1Total: 256 << 30)])
        m.tree.select(gpu)
        let device = Self.draw(DeviceScreen(), m, 120, 60)
        #expect(device.contains("RX 12G/s  TX 1.0M/s") && device.contains("2G of 256G mapped"), "\(device)")
        #expect(m.deviceRates()[gpu]?.write == 12e9 && m.deviceRates()[gpu]?.read == 1e6)
        #expect(Self.draw(TopologyScreen(), m).contains("⇅ r 1.0M/s w 12G/s of 29G/s"))
        m.gpuCounters = FakeGPUs([], unavailable: "NVML not loaded (libnvidia-ml.so.1: no NVIDIA driver here)")
        let without = Self.draw(DeviceScreen(), m, 280, 60)
        #expect(without.contains("no NVIDIA driver here): PCIe throughput and BAR1 use unknown") && m.deviceRates()[gpu] == nil, "\(without)")
    }

    @Test func matrixScreenMovesOpensThePathAndTakesClicks() throws {
        let m = try Self.demo(), s = MatrixScreen()
        let text = Self.draw(s, m)
        #expect(text.contains("rows provide"))
        _ = s.handle(.right, m)
        #expect(s.col == 2)
        guard case .open(let d) = s.handle(.character("p"), m) else { Issue.record("p opens nothing"); return }
        #expect(d is PathDialog)
        // Click the cell of row 1, column 0.
        _ = Self.draw(s, m)
        _ = s.click(x: s.gridArea.x + s.labelWidth + 1, y: s.gridArea.y + 2, button: 1, m)
        #expect(s.row == 1 && s.col == 0)
        guard case .show(let id) = s.handle(.enter, m) else { Issue.record("Enter shows no tree"); return }
        #expect(id == .topology && !m.tree.highlightedPath.isEmpty)
    }

    @Test func pinsScreenSortsItsHoldersByTheColumnUnderTheCursor() throws {
        let m = try Self.demo(), s = PinsScreen()
        let values: [String: Double] = ["vmpin_kb{fio[300]}": 4096, "vmlck_kb{fio[300]}": 0,
                                        "vmpin_kb{ib_write_bw[12]}": 65536, "vmlck_kb{ib_write_bw[12]}": 8,
                                        "vmpin_kb{qemu-system-x86[7001]}": 0, "vmlck_kb{qemu-system-x86[7001]}": 1048576]
        let rows = PinsScreen.holderRows(values, m.theme)
        #expect(rows.count == 3 && rows.contains { $0.cells[1].text == "qemu-system-x86" && $0.cells[0].text == "7001" })
        func order() -> [String] { s.holders.order(rows).map { rows[$0].cells[1].text } }
        #expect(order() == ["ib_write_bw", "fio", "qemu-system-x86"], "VmPin, largest first, by default")
        _ = s.handle(.right, m); _ = s.handle(.character("s"), m)      // VmLck
        #expect(order() == ["qemu-system-x86", "ib_write_bw", "fio"])
        _ = s.handle(.character("s"), m)
        #expect(order() == ["fio", "ib_write_bw", "qemu-system-x86"], "s again reverses")
        _ = s.handle(.left, m); _ = s.handle(.left, m); _ = s.handle(.left, m); _ = s.handle(.character("s"), m)
        #expect(s.holders.sortColumn == 0 && order() == ["qemu-system-x86", "fio", "ib_write_bw"], "PID, numeric")
        #expect(Self.draw(s, m).contains("Pins"))
    }

    @Test func transfersScreenTabulatesJobsAndNamesTheUpstreamBottleneck() throws {
        // A GPU whose own x16 link sits under a switch trained at x4: the x4 link is the limit.
        var f = FabricBuilder()
        f.hostBridge("0000:00:00.0", vendor: 0x8086, device: 0x09a2, numa: 0, mmioBase: 0x2000_0000_0000)
        f.port("0000:00:01.0", type: 4, vendor: 0x8086, device: 0x347a, sec: 1, sub: 3, gen: .g4, width: 16, trainedWidth: 4, numa: 0)
        f.port("0000:01:00.0", type: 5, vendor: 0x1000, device: 0xc030, sec: 2, sub: 3, gen: .g4, width: 16, trainedWidth: 4, numa: 0)
        f.port("0000:02:00.0", type: 6, vendor: 0x1000, device: 0xc030, sec: 3, sub: 3, gen: .g4, width: 16, numa: 0)
        f.endpoint("0000:03:00.0", vendor: 0x10de, device: 0x20f1, classCode: 0x0302, gen: .g4, width: 16,
                   bars: [(0, 16 << 20, false), (1, 1 << 30, true)], driver: "nvidia", numa: 0)
        let t = f.topology(name: "narrow", kernel: "6.12.0", cpuVendor: "intel", cpuFamily: 6)
        let m = try Self.model(t), s = TransfersScreen()
        let gpu = BDF("0000:03:00.0")!
        m.measuredRates = { [gpu: (read: 2.5e9, write: 0)] }
        let text = Self.draw(s, m)
        #expect(text.contains("traffic now") && text.contains("r 2.5G/s"))
        #expect(text.contains("upstream bottleneck: the link above sw0, 16GT/s x4 7.1G/s"), "\(text)")
        // Without a narrower link above, none is named.
        let d = try Self.demo()
        let nvme = try d.topology.resolve("nvme1").bdf
        d.measuredRates = { [nvme: (read: 1e9, write: 1e9)] }
        let plain = Self.draw(TransfersScreen(), d)
        #expect(plain.contains("nvme1") && !plain.contains("upstream bottleneck"))
    }

    @Test func transfersTableSortsJobs() throws {
        let m = try Self.demo(), s = TransfersScreen()
        let nvme0 = try m.topology.resolve("nvme0").bdf, nvme1 = try m.topology.resolve("nvme1").bdf
        #expect(m.startTransfer(TransferRequest(from: nvme0, to: nvme1, size: 64 << 20, block: 1 << 20, queueDepth: 4, method: .odirect)))
        #expect(m.startTransfer(TransferRequest(from: nil, to: nvme1, size: 8 << 20, block: 1 << 20, queueDepth: 4, method: .odirect)))
        let deadline = Date().addingTimeInterval(30)
        while m.transfersRunning && Date() < deadline { usleep(20_000) }
        let rows = s.rows(m)
        #expect(rows.count == 2)
        #expect(s.table.order(rows) == [0, 1])
        _ = s.handle(.character("s"), m)        // by name, A→Z: "host …" before "nvme0 …"
        #expect(s.table.order(rows) == [1, 0])
        #expect(s.selectedJob(m) === m.jobs[1])
        let text = Self.draw(s, m)
        #expect(text.contains("TRANSFER▲") && text.contains("done"))
    }

    @Test func barMapShowsWhatTheEngineHoldsAndThePinsPerPage() throws {
        let m = try Self.demo(), s = BarMapScreen()
        let nvme1 = try m.topology.resolve("nvme1").bdf
        m.tree.select(nvme1)
        let before = Self.draw(s, m)
        #expect(before.contains("p2pmem pool") && !before.contains("in use now"))
        m.perform(.map(nvme1)); m.perform(.pin)
        let after = Self.draw(s, m)
        #expect(after.contains("in use now") && after.contains("1M mapped through p2pmem/allocate") && after.contains("256 pages pinned"), "\(after)")
        #expect(after.contains("pins per page of the pool (262144 pinned now)") || after.contains("pinned now"))
        #expect(after.contains("on BAR 2") && after.contains("engine"))
        _ = s.handle(.character("l"), m)
        #expect(s.linear && Self.draw(s, m).contains("linear scale"))
        m.perform(.unpin)
        #expect(!Self.draw(s, m).contains("pages pinned"))
    }

    // MARK: dialogs

    @Test func transferDialogEditsAndStarts() throws {
        let m = try Self.demo()
        let d = TransferDialog(try #require(m.defaultTransfer()))
        let size = d.request.size
        _ = d.handle(.character("+"), m); _ = d.handle(.character("m"), m)
        #expect(d.request.size == size * 2 && d.request.method != .odirect)
        _ = d.handle(.character("m"), m); _ = d.handle(.character("m"), m); _ = d.handle(.character("m"), m); _ = d.handle(.character("m"), m)
        #expect(d.request.method == .odirect)
        _ = d.handle(.character("-"), m); _ = d.handle(.character("-"), m)
        #expect(Self.draw(d, m).contains("Start a transfer") && d.command(m)?.contains("--via odirect") == true)
        guard case .closeAndShow(let id) = d.handle(.enter, m) else { Issue.record("Enter did not start it"); return }
        #expect(id == .transfers && m.jobs.count == 1)
        m.jobs[0].cancel()
        guard case .close = TransferDialog(d.request).handle(.escape, m) else { Issue.record("Esc did not close"); return }
    }

    @Test func realReadDialogEditsItsPath() throws {
        let m = try Self.demo()
        let d = RealReadDialog(RealReadPlan(path: "", function: nil, size: 0, block: 1 << 20, queueDepth: 4))
        for ch in "/tmp/x" { _ = d.handle(.character(ch), m) }
        _ = d.handle(.backspace, m)
        #expect(d.plan.path == "/tmp/" && Self.draw(d, m).contains("/tmp/_"))
        _ = d.handle(.character("\u{15}"), m)
        #expect(d.plan.path.isEmpty && d.command(m) == nil)
        guard case .close = d.handle(.enter, m) else { Issue.record("an empty path started"); return }
        #expect(m.message == "type a file or block device to read")
    }

    @Test func actionAndACSDialogsAskThenAct() throws {
        let m = try Self.demo()
        let nvme1 = try m.topology.resolve("nvme1").bdf
        let map = ActionDialog(.map(nvme1))
        #expect(Self.draw(map, m).contains("map m kind=p2pmem device=nvme1 size=1M"))
        guard case .close = map.handle(.escape, m) else { Issue.record(); return }
        #expect(m.actionSession == nil, "Esc does nothing")
        _ = map.handle(.enter, m)
        #expect(m.actionSession?.maps.count == 1 && m.message?.contains("→ ok") == true)
        // ACS: the redirecting port on socket 1; flipping it off makes its pairs BUS_ADDR.
        let port = try #require(m.topology.devices.first { $0.acs.map { !$0.control.isDisjoint(with: .p2pRedirect) } == true })
        let acs = try #require(ACSDialog.flip(port))
        #expect(acs.bits.isDisjoint(with: .p2pRedirect) && acs.command(m)?.hasPrefix("setpci -s \(port.bdf)") == true)
        #expect(Self.draw(acs, m).contains("BUS_ADDR again"))
        _ = acs.handle(.enter, m)
        #expect(m.topology.device(port.bdf)?.acs?.control.isDisjoint(with: .p2pRedirect) == true && m.message?.contains("setpci") == true)
    }

    @Test func pathHelpAndSearchDialogs() throws {
        let m = try Self.demo()
        let gpu = try m.topology.resolve("gpu0").bdf, nvme = try m.topology.resolve("nvme0").bdf
        let p = PathDialog(provider: gpu, client: nvme)
        #expect(Self.draw(p, m).contains("Path gpu0 → nvme0") && p.command(m) == "p2ptop path gpu0 nvme0 --fabric x")
        guard case .close = p.handle(.character("p"), m) else { Issue.record(); return }
        let app = ExplorerApp(topology: m.topology, analyzer: m.analyzer, names: m.names, theme: m.theme, sourceFlags: "")
        let h = HelpDialog(screens: app.screens)
        let help = Self.draw(h, m, 140, 45)
        #expect(help.contains("BARs: log or linear scale") && help.contains("s sorts by it") && help.contains("start a transfer"))
        m.readonly = true
        #expect(!Self.draw(h, m, 140, 45).contains("start a transfer"))
        let s = SearchDialog()
        for ch in "zzz-none" { _ = s.handle(.character(ch), m) }
        let at = m.tree.list.selected
        _ = s.handle(.enter, m)
        #expect(m.tree.list.selected == at && m.lastSearch == "zzz-none")
    }

    // MARK: the app around them

    @Test func theTopDialogTakesTheKeysAndTheHeaderTakesClicks() throws {
        let m = try Self.demo()
        let app = ExplorerApp(topology: m.topology, analyzer: m.analyzer, names: m.names, theme: m.theme, sourceFlags: "")
        app.handle(.key(.character("3")))
        app.handle(.key(.character("p")))
        #expect(app.pathVisible)
        app.handle(.key(.character("q")))           // closes the dialog, does not quit
        #expect(!app.pathVisible && !app.quit)
        app.handle(.key(.character("P")))           // pin: a confirmation on the stack
        #expect(app.dialogs.count == 1)
        app.handle(.key(.character("?")))           // the dialog is modal: no help over it
        #expect(app.dialogs.count == 1 && !app.helpVisible)
        app.handle(.key(.escape))
        #expect(app.dialogs.isEmpty)
        var c = Canvas(width: 120, height: 30)
        app.render(into: &c)
        let x = try #require(c.lines[0].range(of: "5 Transfers")).lowerBound.utf16Offset(in: c.lines[0])
        app.handle(.mouse(x: x + 1, y: 0, button: 1))
        #expect(app.screen == .transfers)
        #expect(app.screens.count == 6 && Set(app.screens.map(\.id)).count == 6)
    }
}

/// In the lab `P` is an O_DIRECT read by a drive into the mapped p2pmem, so the model is asked
/// the same: pin, then dma_map_sg for that drive. A drive across the host bridge from the
/// provider gets EREMOTEIO and holds no pins (as the kernel answered: 0 pinned), a drive
/// below the same switch holds its 256.
@Suite struct SameQuestionTests {
    @Test func aPinForADrivesReadIsRefusedWhereTheKernelRefusesIt() throws {
        let m = try ScreenTests.demo()
        let provider = try m.topology.resolve("nvme1").bdf, near = try m.topology.resolve("nvme0").bdf, far = try m.topology.resolve("nvme2").bdf
        #expect(m.verdict(provider, far).mapType == .notSupported && m.verdict(provider, near).mapType == .busAddr)
        m.perform(.map(provider))
        m.perform(.pinForDMA(client: far))
        #expect(m.message?.contains("EREMOTEIO") == true && m.message?.contains("0 held") == true, "\(m.message ?? "")")
        #expect(m.actionSession?.engine.vmstat.outstanding == 0)
        m.perform(.pinForDMA(client: near))
        #expect(m.message?.contains("256 pages pinned, mapped for nvme0 (bus addresses)") == true, "\(m.message ?? "")")
        #expect(m.actionSession?.engine.vmstat.outstanding == 256)
    }
}

/// The invisible modal (a dialog holding the keys while nothing of it shows) cannot happen:
/// every key that opens a dialog, on every screen, with the selection on each kind of function,
/// at 80×24, 120×40 and 160×48 — what opened is on screen (a box with its title whole, or the
/// search prompt on the status line), no box corner is doubled, and Esc closes it.
@Suite struct EveryDialogTests {
    static let keys: [Key] = [.character("t"), .character("a"), .character("m"), .character("P"), .character("U"), .character("u"),
                              .character("x"), .character("r"), .character("?"), .character("/"), .function(3), .enter, .character("p")]

    @Test(arguments: [(80, 24), (120, 40), (160, 48)])
    func everyDialogFromEveryScreenIsDrawnAndCloses(_ size: (Int, Int)) throws {
        let t = try DemoFabrics.load("icelake-gpu-switch")
        let picks = [t.devices[0].bdf, try t.resolve("sw0").bdf, try t.resolve("gpu0").bdf, try t.resolve("nvme1").bdf,
                     try #require(t.devices.first { $0.acs != nil && $0.isBridge }).bdf]
        var opened: [String: Int] = [:]
        for screen in 1...6 {
            for pick in picks {
                for key in Self.keys {
                    let m = try ScreenTests.model(t)
                    let app = ExplorerApp(topology: m.topology, analyzer: m.analyzer, names: m.names, theme: m.theme, sourceFlags: "")
                    app.select(pick)
                    app.handle(.key(.character(Character(String(screen)))))
                    app.handle(.key(key))
                    guard let top = app.dialogs.last else { continue }
                    var c = Canvas(width: size.0, height: size.1)
                    app.render(into: &c)
                    let text = c.text, what = "\(type(of: top)) from screen \(screen), \(pick), key \(key), \(size)"
                    switch top.face(in: c.area, m) {
                    case .box(let d):
                        // Its top border carries the title (whole, or cut with the border's own end).
                        let head = String(d.title.prefix(min(d.title.count, size.0 - 12)))
                        #expect(text.contains("┌─ " + head), "not drawn: \(what)\n\(text)")
                    case .prompt(let p):
                        #expect(c.lines.last!.contains(p), "no prompt: \(what)")
                    }
                    for corner in ["┌┌", "┐┐", "└└", "┘┘"] { #expect(!text.contains(corner), "doubled corner: \(what)\n\(text)") }
                    opened["\(type(of: top))", default: 0] += 1
                    let before = app.dialogs.count
                    app.handle(.key(.escape))
                    #expect(app.dialogs.count == before - 1, "Esc left it open: \(what)")
                }
            }
        }
        // Each kind of dialog was reached (the check above is not vacuous).
        for kind in ["TransferDialog", "ActionDialog", "ACSDialog", "HelpDialog", "SearchDialog", "PathDialog"] {
            #expect(opened[kind, default: 0] > 0, "\(kind) never opened: \(opened)")
        }
    }
}

/// The explorer's kernel writes go through `KernelWrites`: with a fake, `a` and `u` are seen
/// to ask for exactly the write they describe, and the read-back is what the dialog reports.
@Suite struct KernelWritesTests {
    final class Fake: KernelWrites, @unchecked Sendable {
        var config: [(BDF, Int, UInt16)] = []
        var unbound: [BDF] = []
        func unbindDriver(_ function: BDF) -> String? { unbound.append(function); return nil }
        func writeConfig16(_ function: BDF, offset: Int, value: UInt16) -> Result<UInt16?, FileError> {
            config.append((function, offset, value))
            return .success(value & 0x7f)   // the device keeps only the bits it implements
        }
    }

    @Test func acsWritesGoThroughTheProtocolAndOnlyInTheLab() throws {
        let fake = Fake(), port = try #require(BDF("0000:00:01.0"))
        let lab = KernelActions(drives: [], lab: true, writes: fake)
        let r = lab.writeACS(port, offset: 0x146, bits: 0x1d)
        #expect(r.ok && r.readBack == 0x1d && fake.config.count == 1 && fake.config[0].0 == port && fake.config[0].1 == 0x146 && fake.config[0].2 == 0x1d)
        let live = KernelActions(drives: [], lab: false, writes: fake)
        let refused = live.writeACS(port, offset: 0x146, bits: 0)
        #expect(!refused.ok && fake.config.count == 1, "a real machine's ACS is never written")
    }
}
extension ScreenTests {
    /// The BAR map's gauges start in one column whatever the nesting (they drifted right two
    /// columns a level), at 80 and 160 columns.
    @Test func barMapGaugesStayInOneColumn() throws {
        let m = try Self.demo()
        m.tree.select(try m.topology.resolve("gpu0").bdf)
        for width in [80, 120, 160] {
            let text = Self.draw(BarMapScreen(), m, width, 40)
            let gauged = text.split(separator: "\n").filter { $0.contains("█") && ($0.contains("BAR ") || $0.contains("window") || $0.contains("mem") || $0.contains("pref")) }
            let starts = Set(gauged.compactMap { line -> Int? in
                guard let i = line.firstIndex(where: { $0 == "█" || $0 == "·" }) else { return nil }
                return line.distance(from: line.startIndex, to: i)
            })
            #expect(gauged.count >= 5 && starts.count == 1, "\(width) columns: gauges start at \(starts.sorted())\n\(text)")
        }
    }
}

extension ScreenTests {
    /// The transfer dialog never puts one device at both ends, and says when a chosen end is
    /// not what the method needs there (it used to call nvme0 "the RDMA NIC").
    @Test func transferDialogKeepsTheEndsApartAndNamesAMisfit() throws {
        let m = try Self.demo()
        let nvme0 = try m.topology.resolve("nvme0").bdf
        let d = TransferDialog(TransferRequest(from: nvme0, to: nil, size: 1 << 20, method: .odirect))
        for _ in 0..<(m.analyzer.endpoints.count + 3) {
            _ = d.handle(.down, m)
            #expect(d.request.to != d.request.from)
        }
        for _ in 0..<(m.analyzer.endpoints.count + 3) {
            _ = d.handle(.left, m)
            #expect(d.request.to != d.request.from)
        }
        d.request.from = nvme0
        d.request.to = try m.topology.resolve("gpu0").bdf
        d.request.method = .odirect
        #expect(!Self.draw(d, m).contains("note"))
        d.request.method = .rdma
        #expect(Self.draw(d, m).contains("nvme0 is not an RDMA NIC: rdma needs one as from"))
    }
}
