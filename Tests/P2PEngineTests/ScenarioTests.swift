import Testing
import P2PDMA
import PCISources
import PCITopology
@testable import P2PEngine

@Suite struct ScenarioTests {
    @Test(arguments: BundledScenarios.all.map(\.name))
    func bundledScenariosRunCleanly(_ name: String) throws {
        let s = try Scenario.parse(BundledScenarios.text(name)!, name: name, file: name)
        let t = try DemoFabrics.load(s.fabric ?? DemoFabrics.defaultName)
        let e = try Engine(topology: t, analyzer: P2PAnalyzer(topology: t, kernel: KernelVersion(parsing: s.kernel!)!,
                                                              cpu: CPUInfo(vendor: t.host.cpuVendor, family: t.host.cpuFamily)))
        let runner = ScenarioRunner(engine: e, scenario: s)
        var events: [ScenarioRunner.Event] = []
        while !runner.finished { events.append(runner.step()) }
        runner.cleanup()
        #expect(events.filter { !$0.matched }.map { "\($0.line): \($0.outcome) \($0.detail)" } == [])
        #expect(e.leaks().isEmpty && e.vmstat.outstanding == 0)
    }

    @Test func theKernelCacheHidesARuntimeACSChange() throws {
        let s = try Scenario.parse(BundledScenarios.text("acs-flip")!, name: "acs-flip", file: "acs-flip")
        let t = try DemoFabrics.load(DemoFabrics.defaultName)
        let e = try Engine(topology: t, analyzer: P2PAnalyzer(topology: t, kernel: .latest, cpu: CPUInfo(vendor: "intel", family: 6)))
        let runner = ScenarioRunner(engine: e, scenario: s)
        var details: [String] = []
        while !runner.finished { let ev = runner.step(); if ev.action == "dmamap" { details.append(ev.detail) } }
        #expect(details.count == 2 && details.allSatisfy { $0.contains("bus address") })
    }

    @Test func badScriptsNameTheLine() {
        #expect(throws: Scenario.ParseError.self) { try Scenario.parse("map a kind=host\nfrobnicate now\n", name: "x", file: "x.p2p") }
        do { _ = try Scenario.parse("# only comments\n", name: "x", file: "x.p2p") } catch { #expect(error.line == 1) }
        do { _ = try Scenario.parse("map a\n@colour red\n", name: "x", file: "x.p2p") } catch { #expect(error.line == 2 && error.description.hasPrefix("x.p2p:2:")) }
    }

    @Test func failedExpectationsAreReportedNotFatal() throws {
        let s = try Scenario.parse("map m kind=p2pmem device=nvme1 size=1M\npin p map=m pages=4 flags=PIN\nunmap m\n", name: "x", file: "x")
        let t = try DemoFabrics.load(DemoFabrics.defaultName)
        let e = try Engine(topology: t, analyzer: P2PAnalyzer(topology: t, kernel: .latest, cpu: .unknown))
        let r = ScenarioRunner(engine: e, scenario: s)
        let events = [r.step(), r.step(), r.step()]
        #expect(events[1].outcome == "EREMOTEIO" && !events[1].matched && events[2].matched)
        #expect(e.leaks().isEmpty)
    }
}
