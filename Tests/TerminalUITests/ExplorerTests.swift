import Foundation
import Testing
import TestSupport
@testable import Explorer
import P2PDMA
import PCISources
import PCITopology
import P2PEngine
@testable import TerminalUI

/// Every screen through the in-memory canvas: sizes, themes, NO_COLOR, keys.
@Suite struct ExplorerTests {
    func app(_ t: Topology, theme: String = "default", mono: Bool = false) throws -> ExplorerApp {
        var th = try Theme.load(theme, readFile: { _ in nil })
        if mono { th = th.monochrome }
        let a = P2PAnalyzer(topology: t, kernel: .latest, cpu: CPUInfo(vendor: t.host.cpuVendor, family: t.host.cpuFamily))
        return ExplorerApp(topology: t, analyzer: a, names: NameDatabase(useHWDB: false), theme: th, sourceFlags: " --fabric x")
    }

    func frame(_ app: ExplorerApp, _ w: Int, _ h: Int, mono: Bool = false) -> Canvas {
        var c = Canvas(width: w, height: h)
        c.monochrome = mono
        app.render(into: &c)
        return c
    }

    @Test(arguments: [(80, 24), (120, 40), (200, 60)])
    func everyScreenEveryThemeEverySize(_ size: (Int, Int)) throws {
        let t = try DemoFabrics.load(DemoFabrics.defaultName)
        for theme in BuiltinThemes.names {
            for mono in [false, true] {
                let a = try app(t, theme: theme, mono: mono)
                for key in ["1", "2", "3", "4", "5", "6"] {
                    a.handle(.key(.character(Character(key))))
                    let c = frame(a, size.0, size.1, mono: mono)
                    #expect(c.lines[0].contains("p2ptop") && c.lines[0].contains("Topology"))
                    #expect(c.lines.last!.contains("p2ptop") || c.lines.last!.contains("scenario"), "status line")
                    if mono { #expect(c.cells.allSatisfy { $0.style.fg == .default && $0.style.bg == .default }) }
                }
            }
        }
    }

    /// The README's captures (Tests/TerminalUITests/Captures): the tree with gpu0 selected, the
    /// device page, the matrix, at the three widths the layouts were designed for. They are the
    /// frames the app draws now; `P2PTOP_WRITE_CAPTURES=1` writes them again after a change.
    /// The names in them come from pci.ids: compared where the machine's is the one they were made with.
    static let captures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Captures")
    static func pciIDsVersion() -> String? {
        guard let text = try? String(contentsOfFile: "/usr/share/misc/pci.ids", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").prefix(20).first { $0.hasPrefix("#\tVersion:") }.map { String($0.dropFirst(10)).trimmingCharacters(in: .whitespaces) }
    }
    static var capturesMatchThisPCIIDs: Bool {
        let made = try? String(contentsOf: captures.appendingPathComponent("pci.ids-version"), encoding: .utf8)
        return ProcessInfo.processInfo.environment["P2PTOP_WRITE_CAPTURES"] != nil || (made?.trimmingCharacters(in: .whitespacesAndNewlines) == pciIDsVersion() && made != nil)
    }

    @Test(.enabled(if: capturesMatchThisPCIIDs, "the captures' names come from another pci.ids than this machine's"), arguments: [(80, 24), (120, 40), (160, 48)])
    func capturesInTheReadmeAreTheFramesDrawnNow(_ size: (Int, Int)) throws {
        let dir = Self.captures
        let t = try DemoFabrics.load("icelake-gpu-switch")
        let a = try app(t)
        a.select(try t.resolve("gpu0").bdf)
        var text = ""
        for key in ["1", "2", "3"] {
            a.handle(.key(.character(Character(key))))
            text += frame(a, size.0, size.1).lines.map { $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }.joined(separator: "\n") + "\n\n"
        }
        let file = dir.appendingPathComponent("explorer-\(size.0)x\(size.1).txt")
        if ProcessInfo.processInfo.environment["P2PTOP_WRITE_CAPTURES"] != nil {
            try text.write(to: file, atomically: true, encoding: .utf8)
            try ((Self.pciIDsVersion() ?? "none") + "\n").write(to: dir.appendingPathComponent("pci.ids-version"), atomically: true, encoding: .utf8)
        }
        let kept = try String(contentsOf: file, encoding: .utf8)
        #expect(kept == text, "\(file.path) is not what the app draws now: P2PTOP_WRITE_CAPTURES=1 swift test --filter capturesInTheReadme")
    }

    @Test func topologyShowsTheTreeWithAliasesAndLinks() throws {
        let a = try app(try DemoFabrics.load(DemoFabrics.defaultName))
        let text = frame(a, 120, 40).text
        #expect(text.contains("19:00.0 gpu0") && text.contains("16GT/s x16") && text.contains("p2pmem 256M"))
        #expect(frame(a, 120, 40).lines.last!.contains("p2ptop tree --fabric x"))
    }

    @Test func keysMoveSearchCollapseAndSwitch() throws {
        let t = try DemoFabrics.load(DemoFabrics.defaultName)
        let a = try app(t)
        for ch in "/nvme1" { a.handle(.key(ch == "/" ? .character("/") : .character(ch))) }
        a.handle(.key(.enter))
        a.handle(.key(.character("2")))
        #expect(frame(a, 120, 40).text.contains("0000:1c:00.0 (nvme1)"))
        #expect(frame(a, 120, 40).lines.last!.contains("p2ptop show nvme1"))
        a.handle(.key(.character("1")))
        let before = frame(a, 120, 40).text
        a.handle(.key(.home)); a.handle(.key(.down))      // the root port
        a.handle(.key(.left))                              // collapse it
        let after = frame(a, 120, 40).text
        // The tree's row (the glance under it keeps every endpoint).
        #expect(before.contains("19:00.0 gpu0") && !after.contains("19:00.0 gpu0"))
        a.handle(.key(.tab))
        #expect(a.screen == .device)
        a.handle(.key(.backTab)); a.handle(.key(.backTab))
        #expect(a.screen == .bars, "back from the first screen wraps to the last")
        a.handle(.key(.character("?")))
        #expect(frame(a, 100, 30).text.contains("Keys") && a.helpVisible)
        a.handle(.key(.escape))
        #expect(!a.helpVisible)
        a.handle(.key(.character("q")))
        #expect(a.quit)
    }

    @Test func matrixShowsTheSelectedPairsReason() throws {
        let a = try app(try DemoFabrics.load(DemoFabrics.defaultName))
        a.handle(.key(.character("3")))
        let text = frame(a, 120, 40).text
        #expect(text.contains("PIX·B") && text.contains("gpu0 → nic0: BUS_ADDR"))
        #expect(frame(a, 120, 40).lines.last!.contains("p2ptop path gpu0 nic0"))
    }

    @Test func kindFilterAndPathFromTheMatrix() throws {
        let a = try app(try DemoFabrics.load(DemoFabrics.defaultName))
        a.handle(.key(.character("f")))   // GPUs only
        let gpus = frame(a, 120, 40).text
        #expect(gpus.contains("gpu0") && gpus.contains("gpu1") && !gpus.contains("nvme0") && gpus.contains("filter: GPU"))
        a.handle(.key(.character("3")))
        a.handle(.key(.enter))            // gpu0 → nic0
        #expect(a.screen == .topology && a.kindFilter == nil)
        let marked = frame(a, 120, 40)
        let pathLines = marked.lines.filter { $0.contains("◆") && !$0.contains("path marked") }
        #expect(pathLines.count == 5 && pathLines.contains { $0.contains("gpu0") } && pathLines.contains { $0.contains("nic0") })
        // The ◆ takes a gutter every row has: gpu0 (marked) and gpu1 (not), at the same depth,
        // start their BDFs in the same column.
        func column(_ needle: String) -> Int? {
            marked.lines.first { $0.contains(needle) }.flatMap { l in l.range(of: needle).map { l.distance(from: l.startIndex, to: $0.lowerBound) } }
        }
        #expect(column("19:00.0") != nil && column("19:00.0") == column("9a:00.0"), "\(marked.text)")
        a.handle(.key(.escape))
        #expect(a.highlightedPath.isEmpty)
    }

    @Test func pathDialogShowsHopsLinksAndTheBottleneck() throws {
        let a = try app(try DemoFabrics.load(DemoFabrics.defaultName))
        a.handle(.key(.character("3")))
        a.handle(.key(.right))   // from gpu0 → nic0 to gpu0 → nvme0
        a.handle(.key(.character("p")))
        let text = frame(a, 120, 40).text
        #expect(a.pathVisible && text.contains("Path gpu0 → nvme0") && text.contains("16GT/s x4 7.1 GB/s"))
        #expect(text.contains("bottleneck: link above nvme0") && text.contains("BUS_ADDR, distance 4"))
        a.handle(.key(.escape))
        #expect(!a.pathVisible)
    }

    @Test func mouseSelectsAndScrolls() throws {
        let a = try app(try DemoFabrics.load(DemoFabrics.defaultName))
        _ = frame(a, 120, 40)                        // lays out the tree: rows start at y = 3, under the column headers
        a.handle(.mouse(x: 10, y: 3 + 5, button: 1))  // the sixth row: switch port 18:01.0
        a.handle(.key(.character("2")))
        #expect(frame(a, 120, 40).text.contains("0000:18:01.0"))
        a.handle(.key(.character("1")))
        a.handle(.mouse(x: 10, y: 10, button: 5))     // wheel down: three rows, to nvme0
        a.handle(.key(.character("2")))
        #expect(frame(a, 120, 40).text.contains("0000:1b:00.0 (nvme0)"))
    }

    @Test func flippingACSUpdatesTheMatrix() throws {
        let t = try DemoFabrics.load(DemoFabrics.defaultName)
        let a = try app(t)
        // Select the switch port above nvme1 (18:03.0) and turn redirect on.
        for ch in "/18:03" { a.handle(.key(.character(ch))) }
        a.handle(.key(.enter))
        a.handle(.key(.character("a")))
        #expect(frame(a, 120, 40).text.contains("Flip ACS redirect"))
        a.handle(.key(.enter))
        #expect(frame(a, 120, 40).lines.last!.contains("setpci -s 0000:18:03.0"))
        let nvme1 = try t.resolve("nvme1").bdf, nvme0 = try t.resolve("nvme0").bdf
        #expect(a.analyzer.verdict(provider: nvme1, client: nvme0).mapType == .thruHostBridge)
        a.handle(.key(.character("3")))
        #expect(frame(a, 120, 40).text.contains("PIX·H"))
        // And back.
        a.handle(.key(.character("1"))); a.handle(.key(.character("a"))); a.handle(.key(.enter))
        #expect(a.analyzer.verdict(provider: nvme1, client: nvme0).mapType == .busAddr)
    }

    @Test func engineActionsFromTheKeyboard() throws {
        let a = try app(try DemoFabrics.load(DemoFabrics.defaultName))
        func status() -> String { frame(a, 160, 40).lines.last! }
        func confirm(_ key: Character) { a.handle(.key(.character(key))); a.handle(.key(.enter)) }
        for ch in "/nvme1" { a.handle(.key(.character(ch))) }
        a.handle(.key(.enter))
        a.handle(.key(.character("m")))
        #expect(frame(a, 160, 40).text.contains("headless: map m kind=p2pmem device=nvme1 size=1M"))
        a.handle(.key(.enter))
        #expect(status().contains("→ ok (1024 KiB mapped)"))
        confirm("P")
        #expect(status().contains("256 pages pinned"))
        confirm("u")
        #expect(status().contains("waiting: 256 pinned page(s)"))
        confirm("U")
        #expect(status().contains("the unbind of 1c:00.0 completes"))
        // A GPU BAR through resourceN cannot be pinned: -EFAULT.
        a.handle(.key(.home)); for ch in "/gpu0" { a.handle(.key(.character(ch))) }
        a.handle(.key(.enter))
        confirm("m")
        confirm("P")
        #expect(status().contains("-EFAULT"))
        confirm("x")
        #expect(status().contains("exported; BUS_ADDR for the importer"))
        confirm("r")
        #expect(status().contains("1 importer(s) invalidated"))
    }

    @Test func aRunningTransferShowsOnTheTreeAndTheTransfersScreen() throws {
        let a = try app(try DemoFabrics.load(DemoFabrics.defaultName))
        a.handle(.key(.character("t")))
        a.handle(.key(.enter))
        #expect(a.screen == .transfers && a.jobs.count == 1)
        // Wait until the job reports a rate, then look at the tree.
        let deadline = Date().addingTimeInterval(20)
        while a.jobs[0].snapshot.rates.isEmpty && !a.jobs[0].snapshot.finished && Date() < deadline { usleep(20_000) }
        a.handle(.key(.character("1")))
        let tree = frame(a, 160, 40).text
        // A 16 GiB transfer is still moving when its first rate arrives, so the tree must show it.
        #expect(!a.jobs[0].snapshot.rates.isEmpty, "no rate reported within 20 s")
        #expect(tree.contains("GB/s") && tree.contains("⇄"))
        a.handle(.key(.character("c")))
        while !a.jobs[0].snapshot.finished && Date() < deadline { usleep(20_000) }
        a.handle(.key(.character("5")))
        #expect(frame(a, 160, 40).text.contains("0 pins held now"))
    }

    @Test func tooSmallSaysSo() throws {
        let a = try app(try DemoFabrics.load(DemoFabrics.defaultName))
        #expect(frame(a, 59, 24).lines[0].hasPrefix("terminal too small"))
        #expect(frame(a, 80, 14).lines[0].hasPrefix("terminal too small"))
    }

    @Test(.needsFixtures) func fixtureDumpsRender() throws {
        let dumps = TestMachine.fixtureFiles("lspci", ".dump")
        #expect(dumps.count >= 30, "the fixtures' lspci dumps")
        for d in dumps {
            let t = try DumpReader.load(path: d)
            let a = try app(t)
            let first = t.devices.first!.bdf.short
            for (key, title) in [("1", "Topology"), ("2", "Device"), ("3", "P2P matrix")] {
                a.handle(.key(.character(Character(key))))
                for (w, h) in [(80, 24), (200, 60)] {
                    let f = frame(a, w, h)
                    #expect(f.lines.count == h, "\(d) screen \(key) at \(w)x\(h)")
                    #expect(f.text.contains(title), "\(d) screen \(key) at \(w)x\(h): no \(title) title")
                    if key != "3" { #expect(f.text.contains(first), "\(d) screen \(key) at \(w)x\(h): first device \(first) not shown") }
                }
            }
        }
    }
}

@Suite struct PresenterTests {
    static func presenter(_ name: String = "seed-story", theme: String = "high-contrast") throws -> Presenter {
        let s = try Scenario.parse(BundledScenarios.text(name)!, name: name, file: name)
        let t = try DemoFabrics.load(s.fabric!)
        let a = P2PAnalyzer(topology: t, kernel: KernelVersion(parsing: s.kernel!)!, cpu: CPUInfo(vendor: "intel", family: 6))
        return try Presenter(makeRunner: { ScenarioRunner(engine: try Engine(topology: t, analyzer: a), scenario: s) },
                             theme: try Theme.load(theme, readFile: { _ in nil }))
    }

    static func frame(_ p: Presenter, _ w: Int, _ h: Int) -> Canvas {
        var c = Canvas(width: w, height: h)
        p.render(into: &c)
        return c
    }

    @Test func playsTheSeedStoryToACleanEnd() throws {
        let p = try Self.presenter()
        #expect(Self.frame(p, 100, 30).text.contains("What you will see") && Self.frame(p, 100, 30).text.contains("space begins"))
        p.handle(.key(.character(" ")))
        let first = Self.frame(p, 100, 30).text
        #expect(first.contains("VM_IO|VM_PFNMAP") && first.contains("step 1/22") && first.contains("The machine"))
        for _ in 0..<40 { p.handle(.key(.character(" "))) }
        let end = Self.frame(p, 100, 30).text
        #expect(end.contains("22 steps, every one as the model predicted") && end.contains("leaks: pins 0, pages 0, pool bytes 0"), "\(end)")
    }

    /// The counter counts the steps the list shows, one per key press, captions included in
    /// no count; the highlighted row of the list is the step the counter names.
    @Test func theCounterFollowsTheListOneStepAtATime() throws {
        let p = try Self.presenter()
        for k in 1...22 {
            p.handle(.key(.right))
            let c = Self.frame(p, 120, 40)
            #expect(c.lines[0].contains("step \(k)/22"), "after \(k) presses: \(c.lines[0])")
            // A highlighted row (not the scroll indicator's one cell).
            let highlighted = c.lines.indices.filter { y in (0..<c.width).filter { c[$0, y].style == p.theme.selection.bold() }.count > 10 }
            #expect(highlighted.count == 1, "one highlighted row")
            if let y = highlighted.first { #expect(c.lines[y].contains("\(k) ✓ ") || c.lines[y].contains("\(k) ✗ "), "row \(c.lines[y])") }
        }
    }

    /// Back replays the story to the step before on a fresh engine: the engine's counters are
    /// those of that step again; restart shows the opening card on a clean engine.
    @Test func backAndRestartReplayOnAFreshEngine() throws {
        let p = try Self.presenter()
        for _ in 0..<6 { p.handle(.key(.character(" "))) }
        let atSix = (p.runner.engine.vmstat.nr_foll_pin_acquired, p.runner.engine.vmstat.outstanding, p.runner.engine.vmas.count)
        p.handle(.key(.character(" ")))       // dmamap
        p.handle(.key(.character(" ")))       // unpin p2: outstanding drops
        #expect(p.position == 8 && p.runner.engine.vmstat.outstanding == 0)
        p.handle(.key(.left)); p.handle(.key(.left))
        #expect(p.position == 6)
        #expect((p.runner.engine.vmstat.nr_foll_pin_acquired, p.runner.engine.vmstat.outstanding, p.runner.engine.vmas.count) == atSix)
        #expect(atSix.1 == 256, "pin p2 holds 256 pages at step 6")
        #expect(Self.frame(p, 80, 24).lines[0].contains("step 6/22"))
        p.handle(.key(.character("r")))
        #expect(p.position == 0 && p.runner.engine.vmstat.nr_foll_pin_acquired == 0 && Self.frame(p, 80, 24).text.contains("What you will see"))
        p.handle(.key(.left))
        #expect(p.position == 0, "nothing before the opening card")
    }

    @Test(arguments: [(80, 24), (120, 40)])
    func everyStepFitsAndStaysReadableInMono(_ size: (Int, Int)) throws {
        for theme in ["high-contrast", "mono"] {
            let p = try Self.presenter(theme: theme)
            for _ in 0...23 {
                var c = Canvas(width: size.0, height: size.1)
                c.monochrome = theme == "mono"
                p.render(into: &c)
                #expect(c.lines[0].contains("p2ptop demo") && c.lines.last!.contains("space/→ next"))
                if p.position > 0 && !p.ended {
                    #expect(c.text.contains("The machine") && c.text.contains("Steps — step \(p.position)/22"))
                    // The pair in play is marked in the machine: its memory ● (or its device).
                    if p.position == 7 { #expect(c.text.contains("● nvme1") && c.text.contains("○ nvme0")) }
                }
                p.handle(.key(.character(" ")))
            }
        }
    }

    @Test func aRecordingKeepsEveryStepsScreenAndStateAndReplays() throws {
        let p = try Self.presenter()
        var r = DemoRecording(story: "seed-story", title: "t", width: 100, height: 30)
        r.add(p)
        while !p.ended { p.handle(.key(.character(" "))); r.add(p) }
        #expect(r.frames.count == 24)
        let text = r.document.serialized()
        let loaded = try DemoRecording.load(Array(text.utf8), file: "rec.json")
        #expect(loaded.frames.count == 24 && loaded.frames[2].step == 2 && loaded.frames[2].screen.joined().contains("EFAULT"))
        let sixth = try #require(r.frames[6]["engine"])
        #expect(sixth["pins_outstanding_pages"]?.doubleValue == 256 && r.frames[2]["event"]?["outcome"]?.stringValue == "EFAULT")
        let replay = DemoReplay(title: loaded.title, frames: loaded.frames, theme: p.theme)
        replay.handle(.key(.right)); replay.handle(.key(.right))
        var c = Canvas(width: 100, height: 31)
        replay.render(into: &c)
        #expect(c.text.contains("EFAULT") && c.lines.last!.contains("frame 3/24"))
        // Bad recordings are one line naming the file and what was expected.
        #expect(throws: DemoRecordingError.self) { try DemoRecording.load(Array("{\"schema\": \"x\"}".utf8), file: "a.json") }
        do { _ = try DemoRecording.load(Array("{\n\"schema\": ".utf8), file: "b.json") } catch { #expect(error.description.hasPrefix("b.json:")) }
    }
}

extension ExplorerTests {
    /// The machine's RDMA ports on the Transfers screen and on the NIC's device screen; with none,
    /// the reason.
    @Test func rdmaPortsOrTheReasonThereAreNone() throws {
        let t = try DemoFabrics.load(DemoFabrics.defaultName)
        let nic = try t.resolve("nic0")
        let a = try app(t)
        a.rdma = RDMAInventory(devices: [RDMADevice(name: "mlx5_0", pciAddress: nic.bdf.description, nodeType: "CA", firmware: "16.35.2000", nodeGUID: nil,
                                                    ports: [RDMAPort(number: 1, state: .active, physState: "LinkUp", rate: RDMARate(width: 2, speed: 32),
                                                                     linkLayer: .infiniband, lid: 3)])],
                               unavailable: nil, source: "verbs")
        a.handle(.key(.character("5")))
        var c = frame(a, 120, 40)
        #expect(c.text.contains("RDMA: 1 RDMA device, 1/1 port active"))
        #expect(c.text.contains("mlx5_0 port 1  ACTIVE  100 Gb/sec (4X EDR)  InfiniBand  (nic0)"))
        a.handle(.key(.character("1")))
        a.handle(.key(.character("/")))
        for ch in "nic0" { a.handle(.key(.character(ch))) }
        a.handle(.key(.enter))
        a.handle(.key(.character("2")))
        c = frame(a, 120, 40)
        #expect(frame(a, 100, 40).text.contains("RDMA          mlx5_0 port 1 ACTIVE 100 Gb/sec (4X EDR) InfiniBand"), "\(c.text)")
        a.rdma = RDMAInventory(devices: [], unavailable: "ibv_get_device_list: Function not implemented", source: "verbs")
        a.handle(.key(.character("5")))
        c = frame(a, 120, 40)
        #expect(c.text.contains("RDMA: no RDMA devices (ibv_get_device_list: Function not implemented)"))
    }
}

extension ExplorerTests {
    /// On the live machine `t` offers a real O_DIRECT read: the selected device's block device
    /// prefilled, any file typed instead; Enter runs it for real, and the Transfers screen ends
    /// with the verified bytes and the kernel's pin count.
    @Test(.needsODirect) func realReadFromTheKeyboard() throws {
        let fabric = try DemoFabrics.load(DemoFabrics.defaultName)
        let live = Topology(devices: fabric.devices, host: fabric.host, source: SourceInfo(kind: .live))
        let nvme = try live.resolve("nvme0")
        let a = try app(live)
        a.blockDevices = [BlockDevice(name: "nvme0n1", bytes: 4 << 30, function: nvme.bdf)]
        a.handle(.key(.character("t")))
        var c = frame(a, 120, 40)
        #expect(c.text.contains("from   /dev/nvme0n1_ on nvme0 (\(nvme.bdf.short)), read only"), "\(c.text)")
        // A file instead (in .build: a filesystem with O_DIRECT, unlike tmpfs).
        let file = URL(fileURLWithPath: TestMachine.buildDirectory).appendingPathComponent("tui-read-\(UUID().uuidString.prefix(8)).bin")
        try Data((0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        a.handle(.key(.character("\u{15}")))
        for ch in file.path { a.handle(.key(.character(ch))) }
        c = frame(a, 120, 40)
        #expect(c.text.contains("(type a file or block device)"))
        a.handle(.key(.enter))
        let job = try #require(a.jobs.last)
        let deadline = Date().addingTimeInterval(20)
        while !job.snapshot.finished && Date() < deadline { usleep(20_000) }
        let s = job.snapshot
        #expect(s.ok && s.bytes == 8 << 20 && s.result.contains("verified: true"), "\(s.result)")
        c = frame(a, 120, 40)
        #expect(c.text.contains("→ host 8M") && c.text.contains("done: 8 MiB, verified: true"))
        #expect(c.text.contains("no PCIe link known for it"), "a file has no link to draw against")
    }
}

extension ExplorerTests {
    /// A bridge's device screen lists the windows it forwards, as lspci's "behind bridge" lines.
    @Test func bridgeWindowsOnTheDeviceScreen() throws {
        var c0 = ConfigSpaceBuilder(size: 256, vendor: 0x8086, device: 0x347a, classCode: 0x0604, header: 1)
        c0.buses(primary: 0, secondary: 1, subordinate: 1)
        c0.w16(0x20, 0xfff0); c0.w16(0x22, 0x0000)                   // memory window: disabled
        c0.w16(0x24, 0x8001); c0.w16(0x26, 0x8ff1)                   // 64-bit prefetchable 0x60_8000_0000-0x60_8fff_ffff
        c0.w32(0x28, 0x60); c0.w32(0x2c, 0x60)
        let t = Topology(devices: [Device(bdf: BDF("0000:00:01.0")!, config: c0.config, sysfs: nil)], source: SourceInfo(kind: .fabric))
        let a = try app(t)
        let port = try #require(t.devices.first { d in d.bridge?.windows.contains { $0.isEnabled && $0.kind == .prefetchable } == true })
        a.handle(.key(.character("/")))
        for ch in port.bdf.short { a.handle(.key(.character(ch))) }
        a.handle(.key(.enter))
        a.handle(.key(.character("2")))
        let c = frame(a, 120, 40)
        let w = try #require(port.bridge?.windows.first { $0.kind == .prefetchable })
        #expect(w.base == 0x60_8000_0000 && w.limit == 0x60_8fff_ffff)
        #expect(c.text.contains("prefetchable") && c.text.contains("0x6080000000-0x608fffffff") && c.text.contains("256M 64-bit"), "\(c.text)")
        #expect(c.text.contains("disabled"), "the memory window forwards nothing")
    }
}

extension ExplorerTests {
    /// The transfer dialog edits what it starts: ←/→ and ↑/↓ pick the devices (host memory is a
    /// choice), m the method, +/- the size; the status line shows the matching command.
    @Test func transferDialogIsAnEditor() throws {
        let t = try DemoFabrics.load(DemoFabrics.defaultName)
        let a = try app(t)
        a.handle(.key(.character("t")))
        var c = frame(a, 140, 40)
        #expect(c.text.contains("O_DIRECT: FOLL_PIN | FOLL_PCI_P2PDMA per I/O"))
        a.handle(.key(.character("m")))
        c = frame(a, 140, 40)
        #expect(c.text.contains("the RDMA NIC") && c.text.contains("ibv_reg_mr: FOLL_PIN | FOLL_LONGTERM"), "\(c.text)")
        let nic = try t.resolve("nic0").bdf
        for _ in 0..<64 where !(c.text.contains("from   nic0")) {
            a.handle(.key(.right))
            c = frame(a, 140, 40)
        }
        #expect(c.text.contains("from   nic0"))
        a.handle(.key(.character("-"))); a.handle(.key(.character("-")))
        c = frame(a, 140, 40)
        #expect(c.text.contains("size   4G in 1 MiB I/Os"))
        #expect(c.lines.last!.contains("p2ptop transfer --fabric x --from nic0 --to nvme1 --via rdma --size 4G"), "\(c.lines.last!)")
        a.handle(.key(.enter))
        let job = try #require(a.jobs.last)
        #expect(job.request.method == .rdma && job.request.from == nic && job.request.size == 4 << 30)
        let deadline = Date().addingTimeInterval(10)
        while !job.snapshot.finished && Date() < deadline { usleep(10_000) }
        #expect(job.snapshot.result.hasPrefix("EFAULT"), "writable RDMA MRs on p2pmem are refused (check_vma_flags): \(job.snapshot.result)")
    }
}

extension ExplorerTests {
    /// With no p2pmem provider, the Pins screen says why when the kernel's configuration does.
    @Test func pinsScreenSaysWhyThereIsNoProvider() throws {
        let fabric = try DemoFabrics.load("workstation")
        let a = try app(fabric)
        a.hostFacts = HostFacts(p2pdma: .disabled(file: "/proc/config.gz"))
        a.handle(.key(.character("4")))
        let c = frame(a, 120, 40)
        #expect(c.text.contains("no p2pmem provider in this topology"))
        #expect(c.text.contains("kernel: CONFIG_PCI_P2PDMA not set (/proc/config.gz)"), "\(c.text)")
    }
}

extension ExplorerTests {
    /// The matrix's path dialog ends with what to change, from the doctor's findings on that path.
    @Test func pathDialogSaysWhatToChange() throws {
        let a = try app(try DemoFabrics.load("workstation"))
        a.handle(.key(.character("3")))
        a.handle(.key(.right))
        a.handle(.key(.character("p")))
        let c = frame(a, 140, 40)
        #expect(c.text.contains("what to change") && c.text.contains("p2ptop doctor"), "\(c.text)")
        #expect(c.text.contains("pci=disable_acs_redir") || c.text.contains("allowlist"), "a concrete remedy")
    }
}

/// An NCCL file's device on the device screen: what the file does not hold is "not in NCCL's
/// file", never "none".
@Suite struct ExplorerNCCLTests {
    @Test func unknownIsNotNone() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-nccl-\(UUID().uuidString).xml").path
        try Data("""
            <system version="1"><cpu numaid="0">
              <pci busid="0000:01:00.0" class="0x030200" vendor="0x10de" device="0x20b0" link_speed="16 GT/s" link_width="16"/>
            </cpu></system>
            """.utf8).write(to: URL(fileURLWithPath: file))
        let t = try NCCLSource.load(path: file)
        let a = P2PAnalyzer(topology: t, kernel: .latest, cpu: CPUInfo(vendor: nil, family: nil))
        let app = ExplorerApp(topology: t, analyzer: a, names: NameDatabase(useHWDB: false), theme: try Theme.load("default", readFile: { _ in nil }), sourceFlags: " --nccl x")
        app.select(BDF("0000:01:00.0")!)
        app.handle(.key(.character("2")))
        var c = Canvas(width: 120, height: 40)
        app.render(into: &c)
        let text = c.lines.joined(separator: "\n")
        #expect(text.contains("unknown (not in NCCL's file)") && text.contains("no BARs kept"), "\(text)")
        #expect(!text.contains("driver        none"))
    }
}

/// Screen 6, the BAR map: windows above the selected function, its BARs to scale, the p2pmem
/// pool; `l` switches log and linear scale.
@Suite struct BarMapScreenTests {
    func app(_ t: Topology) throws -> ExplorerApp {
        let a = P2PAnalyzer(topology: t, kernel: .latest, cpu: CPUInfo(vendor: t.host.cpuVendor, family: t.host.cpuFamily))
        return ExplorerApp(topology: t, analyzer: a, names: NameDatabase(useHWDB: false), theme: try Theme.load("default", readFile: { _ in nil }), sourceFlags: "")
    }

    func screen(_ app: ExplorerApp, select bdf: BDF, keys: [Character] = ["6"]) -> String {
        app.select(bdf)
        for k in keys { app.handle(.key(.character(k))) }
        var c = Canvas(width: 140, height: 40)
        app.render(into: &c)
        return c.lines.joined(separator: "\n")
    }

    @Test func theLabsNVMeSitsInItsWindowsWithItsPool() throws {
        let snap = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("LabTests/Recorded/intel/snapshot.json").path
        let t = try Snapshot.load(path: snap)
        let nvme1 = try #require(t.devices.first { $0.sysfs?.p2pmem != nil })
        let a = try app(t)
        let text = screen(a, select: nvme1.bdf)
        #expect(text.contains("BARs of \(nvme1.bdf)") && text.contains("log scale"))
        #expect(text.contains("prefetchable") && text.contains("BAR 2") && text.contains("p2pmem pool"), "\(text)")
        #expect(!text.contains("outside its bridge's windows"))
        #expect(text.contains("█"))
        let linear = screen(a, select: nvme1.bdf, keys: ["l"])
        #expect(linear.contains("linear scale"))
        #expect(a.commandEquivalent.hasPrefix("p2ptop bars "))
    }

    /// The laptop whose root port's prefetchable window (8224M) is the narrowest above the
    /// RTX 3070 Ti: the BAR screen shows it, the BARs inside it, and that ReBAR 1 cannot grow
    /// past 8G there.
    @Test(.needsFixtures) func theNarrowPrefetchableWindowLimitsTheResizableBAR() throws {
        let t = try DumpReader.load(path: TestMachine.fixtures! + "/lspci/ml-alderlake-laptop-rtx3070ti-gl9755.dump")
        let text = screen(try app(t), select: try t.resolve("gpu0").bdf)
        #expect(text.contains("rp0 00:01.0") && text.contains("prefetchable") && text.contains("8224M") && text.contains("0x6000000000"), "\(text)")
        #expect(text.contains("BAR 1") && text.contains("8G") && !text.contains("outside its bridge's windows"))
        #expect(text.contains("Resizable BAR 1: 8G now, up to 8G; the narrowest prefetchable window above (8224M) holds at most 8G"), "\(text)")
    }

    /// A demo fabric's GPU: its 64 GiB BAR 1 inside the prefetchable windows of the root port,
    /// the switch's upstream port and its downstream port, none flagged outside.
    @Test func aDemoFabricsGPUSitsInItsWindows() throws {
        let t = try DemoFabrics.load("icelake-gpu-switch")
        let text = screen(try app(t), select: try t.resolve("gpu0").bdf)
        #expect(text.contains("rp0 16:02.0") && text.contains("sw0 17:00.0") && text.contains("18:00.0"), "\(text)")
        #expect(text.components(separatedBy: "prefetchable").count - 1 >= 3 && text.contains("BAR 1") && text.contains("64G"), "\(text)")
        #expect(!text.contains("outside its bridge's windows") && !text.contains("no bridge windows"))
    }
}

/// `--readonly` and htop's function keys: F1 help, F3 search, F10 quit; no action key changes
/// anything, and the help does not offer them.
@Suite struct ReadonlyTests {
    @Test func actionKeysDoNothingAndAreNotOffered() throws {
        let t = try DemoFabrics.load("icelake-gpu-switch")
        let a = ExplorerApp(topology: t, analyzer: P2PAnalyzer(topology: t, kernel: .latest, cpu: CPUInfo(vendor: "intel", family: 6)),
                            names: NameDatabase(useHWDB: false), theme: try Theme.load("default", readFile: { _ in nil }), sourceFlags: "")
        a.readonly = true
        a.select(try t.resolve("nvme1").bdf)
        for k in ["t", "m", "P", "U", "u", "x", "r", "a"] { a.handle(.key(.character(Character(k)))) }
        #expect(a.jobs.isEmpty && a.dialogs.isEmpty)
        #expect(a.message?.contains("read-only") == true)
        a.handle(.key(.function(1)))
        var c = Canvas(width: 140, height: 40)
        a.render(into: &c)
        let help = c.lines.joined(separator: "\n")
        #expect(help.contains("read-only") && !help.contains("start a transfer") && !help.contains("unbind the selected provider") && help.contains("search the tree"))
        a.handle(.key(.escape))
        #expect(!a.helpVisible)
        a.handle(.key(.function(3)))
        #expect(a.dialogs.last is SearchDialog)
        a.handle(.key(.escape))
        #expect(a.dialogs.isEmpty)
        a.handle(.key(.function(10)))
        #expect(a.quit)
        // Without --readonly the same keys act.
        let b = ExplorerApp(topology: t, analyzer: P2PAnalyzer(topology: t, kernel: .latest, cpu: CPUInfo(vendor: "intel", family: 6)),
                            names: NameDatabase(useHWDB: false), theme: try Theme.load("default", readFile: { _ in nil }), sourceFlags: "")
        b.handle(.key(.character("P")))
        #expect(b.dialogs.last is ActionDialog)
    }
}

extension ExplorerTests {
    /// At 80×24 the help folds at words (it was cut at `wheel sc`), never doubles a corner on
    /// the screen's border (`┌┌`), and scrolls to its last line.
    @Test func helpAt80x24FoldsAtWordsAndScrolls() throws {
        let a = try app(try DemoFabrics.load(DemoFabrics.defaultName))
        a.handle(.key(.character("?")))
        let f = frame(a, 80, 24)
        #expect(!f.text.contains("┌┌") && !f.text.contains("┐┐"), "\(f.text)")
        #expect(f.text.contains("wheel") && !f.lines.contains { $0.hasSuffix("wheel sc") || $0.contains("wheel sc ") }, "\(f.text)")
        #expect(f.text.contains("more (↓ PgDn)"), "the rest is announced: \(f.text)")
        for _ in 0..<6 { a.handle(.key(.pageDown)) }
        #expect(frame(a, 80, 24).text.contains("The bottom line shows the p2ptop command"))
    }

    /// The header's right-hand summary is whole or absent (it read `6 BARs  kernel`).
    @Test(arguments: [80, 100, 120, 160])
    func headerSummaryIsNeverCut(_ width: Int) throws {
        let a = try app(try DemoFabrics.load(DemoFabrics.defaultName))
        let header = frame(a, width, 30).lines[0]
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        // It ends with the last tab, the function count, or the kernel: nothing cut between.
        #expect(trimmed.hasSuffix("BARs") || trimmed.hasSuffix("functions") || trimmed.hasSuffix("kernel \(KernelVersion.latest)"), "\(header)")
    }

    /// A message answers one key: the next gives the status line back to the command.
    @Test func aMessageLastsOneKey() throws {
        let a = try app(try DemoFabrics.load(DemoFabrics.defaultName))
        a.handle(.key(.character("u")))   // on the host bridge: "select a p2pmem provider to unbind"
        #expect(frame(a, 120, 40).lines.last!.contains("select a p2pmem provider"))
        a.handle(.key(.down))
        #expect(frame(a, 120, 40).lines.last!.contains("p2ptop tree"), "\(frame(a, 120, 40).lines.last!)")
    }

    /// The result of a modelled transfer is on the live rate's clock: when this machine's copies
    /// could not keep the model's pace, both figures are said, each for what it is.
    @Test func doneTextUsesTheLiveRatesClock() {
        var r = TransferOutcome()
        r.bytes = 16 << 30; r.seconds = 2.2; r.rateSource = .model
        let slow = TransferJob.doneText(r, wallSeconds: 10)
        #expect(slow.contains("1.72 GB/s") && slow.contains("the model allows 7.81 GB/s"), "\(slow)")
        let kept = TransferJob.doneText(r, wallSeconds: 2.25)
        #expect(kept.contains("7.64 GB/s") && !kept.contains("model allows"), "\(kept)")
    }
}
