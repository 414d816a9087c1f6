import P2PDMA
import PCITopology

/// Plays a scenario on an engine, one step at a time (headless, or driven by the TUI).
public final class ScenarioRunner {
    public struct Event: Sendable {
        public var line: Int
        public var action: String
        public var text: String
        /// `ok`, an errno name, `done`/`waiting`, a map type, or `caption`.
        public var outcome: String
        public var expected: String?
        public var matched: Bool
        public var detail: String
        public var pinsOutstanding: Int
    }

    public let engine: Engine
    public let scenario: Scenario
    public private(set) var next = 0
    var maps: [String: VMA] = [:]
    var pins: [String: [PageRef]] = [:]
    var bufs: [String: DmaBuf] = [:]
    var attachments: [String: (DmaBuf, DmaBufAttachment)] = [:]

    /// The time `wait` and transfers run on: the model's unless a live view paces the story.
    public let clock: any EngineClock

    public init(engine: Engine, scenario: Scenario, clock: any EngineClock = ModelClock()) {
        self.engine = engine; self.scenario = scenario; self.clock = clock
    }

    public var finished: Bool { next >= scenario.steps.count }

    /// Runs the next step and reports what happened.
    public func step() -> Event {
        let s = scenario.steps[next]
        next += 1
        var outcome = "ok", detail = ""
        do {
            detail = try perform(s)
            if s.action == "caption" { outcome = "caption" }
            if s.action == "verdict" || s.action == "unbind" || s.action == "finish-unbind" { outcome = detail.split(separator: " ").first.map { String($0.filter { $0 != ":" }) } ?? detail }
        } catch let e as EngineError {
            outcome = e.errno.name
            detail = e.message
        } catch {
            outcome = "EINVAL"
            detail = "\(error)"
        }
        let expected = s.action == "caption" ? nil : (s.args["expect"] ?? "ok")
        let matched = expected == nil || expected == outcome
        return Event(line: s.line, action: s.action, text: s.text, outcome: outcome, expected: expected, matched: matched,
                     detail: detail, pinsOutstanding: engine.vmstat.outstanding)
    }

    /// Releases whatever the script left behind (a well-written script leaves nothing).
    public func cleanup() {
        for (_, p) in pins { engine.putUserPages(p) }
        pins.removeAll()
        for (_, (b, a)) in attachments { engine.detach(b, a) }
        attachments.removeAll()
        for (_, b) in bufs { engine.release(b) }
        bufs.removeAll()
        for (_, v) in maps { engine.munmap(v) }
        maps.removeAll()
    }

    struct ScriptError: Error, CustomStringConvertible { var description: String }

    func device(_ s: Scenario.Step, _ key: String) throws -> BDF {
        guard let text = s.args[key] else { throw ScriptError(description: "line \(s.line): missing \(key)=") }
        do { return try engine.topology.resolve(text).bdf } catch { throw ScriptError(description: "line \(s.line): \(error.message)") }
    }

    func size(_ s: Scenario.Step, _ key: String = "size", default d: Int = 1 << 20) throws -> Int {
        guard let text = s.args[key] else { return d }
        guard let n = Scenario.bytes(text) else { throw ScriptError(description: "line \(s.line): \(key)=\(Scenario.shown(text)) is not a size") }
        return n
    }

    func name(_ s: Scenario.Step) throws -> String {
        guard let n = s.name else { throw ScriptError(description: "line \(s.line): \(s.action) needs a name") }
        return n
    }

    func flags(_ text: String?) -> FOLL {
        var f: FOLL = []
        for part in (text ?? "").split(separator: "|") {
            let upper = part.uppercased()
            switch upper.hasPrefix("FOLL_") ? String(upper.dropFirst(5)) : upper {
            case "PIN": f.insert(.PIN)
            case "GET": f.insert(.GET)
            case "WRITE": f.insert(.WRITE)
            case "LONGTERM": f.insert(.LONGTERM)
            case "PCI_P2PDMA": f.insert(.PCI_P2PDMA)
            default: break
            }
        }
        return f
    }

    private func perform(_ s: Scenario.Step) throws -> String {
        switch s.action {
        case "caption":
            return s.text
        case "map": return try stepMap(s)
        case "pin": return try stepPin(s)
        case "unpin": return try stepUnpin(s)
        case "dmamap": return try stepDmamap(s)
        case "transfer": return try stepTransfer(s)
        case "export": return try stepExport(s)
        case "attach": return try stepAttach(s)
        case "revoke": return try stepRevoke(s)
        case "release": return try stepRelease(s)
        case "unmap": return try stepUnmap(s)
        case "unbind", "finish-unbind": return try stepUnbind(s)
        case "acs": return try stepAcs(s)
        case "verdict":
            let v = engine.analyzer.verdict(provider: try device(s, "provider"), client: try device(s, "client"))
            return "\(v.mapType.rawValue) \(v.distanceText): \(v.reason)"
        case "wait": return try stepWait(s)
        default:
            throw ScriptError(description: "line \(s.line): unknown action")
        }
    }

    /// `map`.
    private func stepMap(_ s: Scenario.Step) throws -> String {
        let n = try name(s)
        let v: VMA
        switch s.args["kind"] ?? "host" {
        case "host": v = try engine.mmapHost(length: try size(s))
        case "p2pmem": v = try engine.mmapP2PMem(try device(s, "device"), length: try size(s))
        case "resource": v = try engine.mmapResource(try device(s, "device"), bar: Int(s.args["bar"] ?? "0") ?? 0)
        default: throw ScriptError(description: "line \(s.line): kind must be host, p2pmem or resource")
        }
        maps[n] = v
        return "\(n): \(v.length) bytes at 0x\(String(v.start, radix: 16))"
    }

    /// `pin`.
    private func stepPin(_ s: Scenario.Step) throws -> String {
        let n = try name(s)
        guard let m = s.args["map"], let v = maps[m] else { throw ScriptError(description: "line \(s.line): unknown map") }
        let pages = Int(s.args["pages"] ?? "") ?? v.length / PAGE_SIZE
        let offset = Int(s.args["offset"] ?? "0") ?? 0
        let got = try engine.getUserPages(v.start + UInt64(offset * PAGE_SIZE), pages: pages, flags: flags(s.args["flags"]))
        pins[n] = got
        return "\(got.count) page(s) with \(flags(s.args["flags"]))"
    }

    /// `unpin`.
    private func stepUnpin(_ s: Scenario.Step) throws -> String {
        let n = try name(s)
        guard let p = pins.removeValue(forKey: n) else { throw ScriptError(description: "line \(s.line): nothing pinned as \(n)") }
        engine.putUserPages(p)
        return "\(p.count) page(s) released"
    }

    /// `dmamap`.
    private func stepDmamap(_ s: Scenario.Step) throws -> String {
        guard let p = s.args["pin"], let pages = pins[p] else { throw ScriptError(description: "line \(s.line): unknown pin") }
        let mapped = try engine.dmaMap(engine.buildSG(pages), client: try device(s, "client"))
        engine.dmaUnmap(mapped)
        let kind = mapped.first.map { $0.busAddress ? "bus address" : "IOVA/physical" } ?? "nothing"
        return "\(mapped.count) segment(s), \(kind) 0x\(String(mapped.first?.dmaAddress ?? 0, radix: 16))"
    }

    /// `transfer`.
    private func stepTransfer(_ s: Scenario.Step) throws -> String {
        let from = s.args["from"] == "host" ? nil : try device(s, "from")
        let to = s.args["to"] == "host" ? nil : try device(s, "to")
        guard let method = TransferMethod(rawValue: s.args["via"] ?? "odirect") else { throw ScriptError(description: "line \(s.line): bad via=") }
        let r = TransferRunner(engine: engine, clock: clock).run(TransferRequest(from: from, to: to, size: try size(s, default: 64 << 20),
                                                                    block: try size(s, "block"), method: method,
                                                                    unthrottled: s.args["unthrottled"] == "yes"))
        if let e = r.error { throw e }
        return "\(r.bytes) bytes, \(String(format2(r.gbps))) GB/s, verified, \(r.pinsAcquired) pins acquired/\(r.pinsReleased) released"
    }

    /// `export`.
    private func stepExport(_ s: Scenario.Step) throws -> String {
        let n = try name(s)
        let b = try engine.exportDmabuf(try device(s, "device"), bar: Int(s.args["bar"] ?? "0") ?? 0, ranges: [(0, UInt64(try size(s)))])
        bufs[n] = b
        return "\(n): \(b.size) bytes of BAR \(b.bar)"
    }

    /// `attach`.
    private func stepAttach(_ s: Scenario.Step) throws -> String {
        let n = try name(s)
        guard let bn = s.args["buf"], let b = bufs[bn] else { throw ScriptError(description: "line \(s.line): unknown buf") }
        let a = try engine.attach(b, importer: try device(s, "importer"))
        attachments[n] = (b, a)
        return "\(a.mapType.rawValue) at 0x\(String(a.dmaAddresses.first ?? 0, radix: 16))"
    }

    /// `revoke`.
    private func stepRevoke(_ s: Scenario.Step) throws -> String {
        let n = try name(s)
        guard let b = bufs[n] else { throw ScriptError(description: "line \(s.line): unknown buf") }
        let count = engine.revoke(b)
        attachments = attachments.filter { $0.value.0 !== b }
        return "\(count) importer(s) invalidated"
    }

    /// `release`.
    private func stepRelease(_ s: Scenario.Step) throws -> String {
        let n = try name(s)
        guard let b = bufs.removeValue(forKey: n) else { throw ScriptError(description: "line \(s.line): unknown buf") }
        for (k, v) in attachments where v.0 === b { engine.detach(b, v.1); attachments[k] = nil }
        engine.release(b)
        return "released"
    }

    /// `unmap`.
    private func stepUnmap(_ s: Scenario.Step) throws -> String {
        let n = try name(s)
        guard let v = maps.removeValue(forKey: n) else { throw ScriptError(description: "line \(s.line): unknown map") }
        engine.munmap(v)
        return "unmapped"
    }

    /// `unbind / finish-unbind`.
    private func stepUnbind(_ s: Scenario.Step) throws -> String {
        let d = try device(s, "device")
        let r = s.action == "unbind" ? try engine.unbind(d) : engine.finishUnbind(d)
        // Mappings the provider's unbind zapped fault with SIGBUS: the script's process
        // unmaps them.
        for (_, v) in maps where v.zapped { engine.munmap(v) }
        maps = maps.filter { !$0.value.zapped }
        switch r {
        case .done: return "done"
        case .waiting(let n, let holders): return "waiting: \(n) pinned page(s); " + holders.joined(separator: ", ")
        }
    }

    /// `acs`.
    private func stepAcs(_ s: Scenario.Step) throws -> String {
        let d = try device(s, "device")
        var bits: ACSBits = []
        for b in (s.args["set"] ?? "").split(separator: ",") {
            switch b.uppercased() {
            case "RR": bits.insert(.requestRedirect)
            case "CR": bits.insert(.completionRedirect)
            case "EC": bits.insert(.egressControl)
            case "SV": bits.insert(.sourceValidation)
            case "UF": bits.insert(.upstreamForwarding)
            case "NONE": break
            default: throw ScriptError(description: "line \(s.line): ACS bits are RR, CR, EC, SV, UF or none")
            }
        }
        guard let dev = engine.topology.device(d), let edited = dev.withACSControl(bits) else {
            throw EngineError(.ENODEV, "\(d) has no ACS capability")
        }
        engine.update(topology: engine.topology.replacing(edited))
        return "ACSCtl \(bits.lspciFlags)"
    }

    /// `wait`.
    private func stepWait(_ s: Scenario.Step) throws -> String {
        let secs = Double(s.name ?? "0") ?? 0
        if secs > 0 { clock.wait(until: clock.now() + min(secs, 10)) }
        return "waited \(secs) s"
    }
}
