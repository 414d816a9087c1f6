import Dispatch
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PCISources
import P2PDMA
import P2PEngine
import PCITopology
import Telemetry
import TerminalUI

/// The live side of the explorer: transfers started from the keyboard, pins and throughput.
extension ExplorerApp {
    /// A sensible first transfer: an NVMe reading into the first published p2pmem pool it can
    /// reach by bus address (else any), 16 GiB by O_DIRECT.
    func defaultTransfer() -> (TransferRequest, String)? {
        guard let provider = topology.devices.first(where: { $0.sysfs?.p2pmem?.published == true }) else { return nil }
        let clients = topology.devices.filter { topology.kind($0.bdf) == .nvme && $0.bdf != provider.bdf }
        let client = clients.first { analyzer.verdict(provider: provider.bdf, client: $0.bdf).mapType == .busAddr } ?? clients.first
        guard let c = client else { return nil }
        let r = TransferRequest(from: c.bdf, to: provider.bdf, size: 16 << 30, block: 1 << 20, queueDepth: 4, method: .odirect)
        return (r, transferLabel(r))
    }

    func startTransfer() {
        guard topology.source.kind != .live else { message = "on the live machine t reads a block device for real; modelled transfers: --fabric NAME"; return }
        guard let (r, label) = pendingTransfer ?? defaultTransfer() else { message = "no published p2pmem provider and NVMe client here"; return }
        do {
            let job = try TransferJob(request: r, label: label, topology: topology, analyzer: analyzer, arbiter: arbiter)
            job.command = transferCommand(r)
            jobs.append(job)
            message = "started: \(label)"
        } catch {
            message = "engine: \(error)"
        }
        pendingTransfer = nil
    }

    /// On the live machine: read the selected device's block device (else the first one on a
    /// PCI function; else a file the user types) with O_DIRECT into host memory — read-only,
    /// real kernel pins.
    func realReadPlan() -> RealReadPlan {
        let selected = selectedDevice?.bdf
        let disk = blockDevices.first { $0.function == selected && $0.bytes > 0 } ?? blockDevices.first { $0.bytes > 0 }
        return RealReadPlan(path: disk?.devicePath ?? "", function: disk?.function, size: 0, block: 1 << 20, queueDepth: 4)
    }

    /// Edits the dialog's path: characters append, Backspace deletes, Ctrl-U clears.
    func editRealRead(_ key: Key) {
        guard var p = pendingRealRead else { return }
        switch key {
        case .backspace: if !p.path.isEmpty { p.path.removeLast() }
        case .character("\u{15}"): p.path = ""
        case .character(let c) where c.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }): p.path.append(c)
        default: return
        }
        p.function = blockDevices.first { $0.devicePath == p.path }?.function
        pendingRealRead = p
    }

    /// Up to 1 GiB (whole MiB) of the block device or file: its size from sysfs or stat.
    func startRealRead(_ plan: RealReadPlan) {
        var p = plan
        var st = stat()
        let bytes: UInt64
        if let disk = blockDevices.first(where: { $0.devicePath == p.path }) { bytes = disk.bytes }
        else if stat(p.path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { bytes = UInt64(st.st_size) }
        else { message = p.path.isEmpty ? "type a file or block device to read" : "\(p.path): not a regular file or a known block device"; return }
        p.size = Int(min(bytes / (1 << 20) * (1 << 20), 1 << 30))
        guard p.size > 0 else { message = "\(p.path) holds less than 1 MiB"; return }
        let on = p.function.map { " (\(topology.alias($0) ?? $0.short))" } ?? ""
        let label = "\(p.path.split(separator: "/").last ?? "")\(on) → host \(p.size >> 20)M"
        let bottleneck = p.function.flatMap { topology.device($0) }.flatMap { topology.link(of: $0)?.link.status }.flatMap { $0.bytesPerSecond }
        let job = TransferJob(realRead: p, label: label, bottleneck: bottleneck)
        job.command = p.command
        jobs.append(job)
        message = "started: \(label) (\(job.command))"
    }

    func renderRealReadDialog(_ screenArea: Rect, _ c: inout Canvas) {
        guard let p = pendingRealRead else { return }
        let on = p.function.map { f in " on " + (topology.alias(f).map { "\($0) (\(f.short))" } ?? f.short) + ", read only" } ?? "  (type a file or block device)"
        let lines: [Line] = [
            [Span("from   ", theme.dim), Span(p.path.isEmpty ? "_" : p.path + "_", theme.accent), Span(on, theme.dim)],
            [Span("to     ", theme.dim), Span("host memory", theme.accent), Span("  (mmap'd here, every byte verified after)", theme.dim)],
            [Span("size   ", theme.dim), Span("up to 1 GiB in \(p.block >> 20) MiB I/Os, queue depth \(p.queueDepth)", theme.text)],
            [Span("via    ", theme.dim), Span("O_DIRECT: the kernel pins each I/O's pages (FOLL_PIN), /proc/vmstat counts them", theme.text)],
            [],
            [Span("Enter", theme.accent), Span(" starts it   "), Span("Esc", theme.accent), Span(" cancels   ", theme.text),
             Span("Backspace/Ctrl-U", theme.accent), Span(" edit the path", theme.text)],
        ]
        Dialog(title: "Start a real transfer (read only)", lines: lines, style: theme.text, border: theme.border).render(in: screenArea, on: &c)
    }

    public var transfersRunning: Bool { jobs.contains { !$0.snapshot.finished } }

    /// How long the loop may wait for a key: short while something moves.
    public var refreshMilliseconds: Int { transfersRunning ? 100 : 1000 }

    func tickTelemetry() {
        let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
        if now - lastTelemetry >= 0.5 { telemetry.tick(time: now); lastTelemetry = now }
    }

    /// The transfer dialog is an editor: ←/→ the first device, ↑/↓ the second (host memory is
    /// one of the choices), m the method, + and - the size.
    func editTransfer(_ key: Key) {
        guard var (r, _) = pendingTransfer else { return }
        let choices: [BDF?] = [nil] + analyzer.endpoints.map { Optional($0.bdf) }
        func step(_ current: BDF?, _ by: Int) -> BDF? {
            let i = choices.firstIndex { $0 == current } ?? 0
            return choices[(i + by + choices.count) % choices.count]
        }
        switch key {
        case .left: r.from = step(r.from, -1)
        case .right: r.from = step(r.from, 1)
        case .up: r.to = step(r.to, -1)
        case .down: r.to = step(r.to, 1)
        case .character("m"):
            let all = TransferMethod.allCases
            r.method = all[((all.firstIndex(of: r.method) ?? 0) + 1) % all.count]
        case .character("+"): r.size = min(r.size * 2, 1 << 40)
        case .character("-"): r.size = max(r.size / 2, 1 << 20)
        default: return
        }
        pendingTransfer = (r, transferLabel(r))
    }

    func deviceName(_ b: BDF?) -> String { b.map { topology.alias($0) ?? $0.short } ?? "host" }

    func transferLabel(_ r: TransferRequest) -> String {
        "\(deviceName(r.from)) → \(deviceName(r.to)) \(sizeText(UInt64(r.size))) \(r.method.rawValue)"
    }

    /// The one-shot command for the dialog's transfer.
    func transferCommand(_ r: TransferRequest) -> String {
        "p2ptop transfer\(sourceFlags) --from \(deviceName(r.from)) --to \(deviceName(r.to)) --via \(r.method.rawValue) --size \(sizeText(UInt64(r.size)))"
    }

    /// What each side is, for the method (as `p2ptop transfer --help` says).
    static func roles(_ m: TransferMethod) -> (from: String, to: String, via: String) {
        switch m {
        case .odirect: return ("the NVMe doing the read", "the memory it lands in (p2pmem or host)", "O_DIRECT: FOLL_PIN | FOLL_PCI_P2PDMA per I/O")
        case .rdma: return ("the RDMA NIC", "the memory it registers", "ibv_reg_mr: FOLL_PIN | FOLL_LONGTERM, no FOLL_PCI_P2PDMA")
        case .dmabuf: return ("the RDMA NIC", "the device whose BAR is exported", "VFIO dma-buf + ibv_reg_dmabuf_mr: no struct pages, no pins")
        case .zerocopy: return ("the memory sent (p2pmem or host)", "the NIC sending it", "MSG_ZEROCOPY: page references without FOLL_PCI_P2PDMA")
        case .cpu: return ("the memory copied from", "the BAR written through resourceN", "CPU MMIO copy: no DMA, no pins")
        }
    }

    func renderTransferDialog(_ screenArea: Rect, _ c: inout Canvas) {
        guard let (r, _) = pendingTransfer else { return }
        let roles = Self.roles(r.method)
        let verdict = r.from.flatMap { f in r.to.map { analyzer.verdict(provider: $0, client: f) } }
        let lines: [Line] = [
            [Span("from   ", theme.dim), Span(deviceName(r.from).padded(10), theme.accent), Span("  \(roles.from)   ←/→", theme.dim)],
            [Span("to     ", theme.dim), Span(deviceName(r.to).padded(10), theme.accent), Span("  \(roles.to)   ↑/↓", theme.dim)],
            [Span("size   ", theme.dim), Span("\(sizeText(UInt64(r.size))) in \(r.block >> 20) MiB I/Os, queue depth \(r.queueDepth)", theme.text), Span("   +/-", theme.dim)],
            [Span("via    ", theme.dim), Span(r.method.rawValue, theme.accent), Span(" — \(roles.via)   m", theme.text)],
            [Span("path   ", theme.dim), Span(verdict.map { "\($0.mapType.rawValue), \($0.pathClass.rawValue)" } ?? "host memory: no peer path", theme.good)],
            [],
            [Span("Enter", theme.accent), Span(" starts it   "), Span("Esc", theme.accent), Span(" cancels   (\(transferCommand(r)))", theme.dim)],
        ]
        Dialog(title: "Start a transfer", lines: lines, style: theme.text, border: theme.border).render(in: screenArea, on: &c)
    }

    func renderTransfers(_ body: Rect, _ c: inout Canvas) {
        Block(title: "Transfers — t starts one, c cancels", style: theme.border, titleStyle: theme.title).render(in: body, on: &c)
        let inner = body.inner
        guard !jobs.isEmpty else {
            let hint = topology.source.kind == .live ? "no transfer yet: t reads a block device with O_DIRECT (real pins); --fabric NAME for modelled P2P"
                                                      : "no transfer yet: press t, then Enter"
            c.put(hint, x: inner.x + 1, y: inner.y + 1, theme.dim, clip: inner)
            if let rdma { renderRDMA(rdma, from: inner.y + 3, inner, &c) }
            return
        }
        var y = inner.y
        c.put("transfer".padded(34) + "progress".padded(24) + "rate".padded(12) + "pins held", x: inner.x, y: y, theme.dim, clip: inner)
        y += 1
        var totalBytes = 0, totalPins = 0
        for job in jobs.suffix(max(1, inner.height / 2 - 2)) {
            let s = job.snapshot
            totalBytes += s.bytes; totalPins += s.pinsHeld
            c.put(job.label.padded(33), x: inner.x, y: y, theme.text, clip: inner)
            let ratio = Double(s.bytes) / Double(max(1, job.request.size))
            Gauge(ratio: s.finished && s.ok ? 1 : ratio, label: "\(Int(ratio * 100))%", filled: theme.good, empty: theme.dim)
                .render(in: Rect(x: inner.x + 34, y: y, width: 22, height: 1), on: &c)
            let rate = s.finished ? nil : s.rates.last
            c.put(rate.map { "\(format2($0)) GB/s" } ?? (s.finished ? "" : "…"), x: inner.x + 58, y: y, theme.accent, clip: inner)
            c.put("\(s.pinsHeld)", x: inner.x + 70, y: y, s.pinsHeld > 0 ? theme.warn : theme.dim, clip: inner)
            y += 1
            if s.finished { c.put("  " + s.result, x: inner.x, y: y, s.ok ? theme.dim : theme.bad, clip: inner); y += 1 }
        }
        c.put("total \(totalBytes >> 20) MiB moved, \(totalPins) pins held now", x: inner.x, y: y, theme.title, clip: inner)
        y += 2
        if let job = jobs.last, y < inner.maxY - 2 {
            let s = job.snapshot
            let cap = job.bottleneck.map { $0 / 1e9 }
            let top = max(cap ?? 0, s.rates.max() ?? 0, 0.1) * 1.1
            c.put("throughput of the last transfer (GB/s)" + (cap.map { "; ┄ = bottleneck link \(format2($0)) GB/s" } ?? "; no PCIe link known for it"),
                  x: inner.x, y: y, theme.dim, clip: inner)
            let chart = Rect(x: inner.x, y: y + 1, width: inner.width, height: inner.maxY - y - 1)
            BrailleChart(s.rates, maximum: top, reference: cap, style: theme.good, referenceStyle: theme.warn).render(in: chart, on: &c)
        }
    }

    /// The machine's RDMA ports (or why there are none): what a real `--via rdma` would use.
    func renderRDMA(_ inv: RDMAInventory, from top: Int, _ inner: Rect, _ c: inout Canvas) {
        var y = top
        c.put("RDMA: " + inv.summary, x: inner.x + 1, y: y, inv.devices.isEmpty ? theme.dim : theme.title, clip: inner)
        for d in inv.devices {
            for p in d.ports {
                y += 1
                let line = "  \(d.name) port \(p.number)  \(p.state?.name ?? "?")  \(p.rate?.text ?? "rate unknown")  \(p.linkLayer.rawValue)"
                    + (d.pciAddress.flatMap { BDF($0) }.flatMap { topology.alias($0) }.map { "  (\($0))" } ?? "")
                c.put(line, x: inner.x + 1, y: y, p.state == .active ? theme.good : theme.warn, clip: inner)
            }
        }
        if !inv.devices.isEmpty {
            c.put("real RDMA WRITE: p2ptop transfer --from rdma --to host --via rdma", x: inner.x + 1, y: y + 2, theme.dim, clip: inner)
        }
    }

    func renderPins(_ body: Rect, _ c: inout Canvas) {
        Block(title: "Pins — BAR pages of each p2pmem pool by live pin count", style: theme.border, titleStyle: theme.title).render(in: body, on: &c)
        let inner = body.inner
        var y = inner.y
        let providers = topology.devices.filter { $0.sysfs?.p2pmem != nil }
        if providers.isEmpty {
            c.put("no p2pmem provider in this topology", x: inner.x, y: y, theme.dim, clip: inner)
            // Why, where the kernel's configuration says so.
            if let h = hostFacts {
                y += 1
                let off: Bool
                if case .disabled = h.p2pdma { off = true } else { off = false }
                c.put("kernel: " + h.p2pdmaSummary, x: inner.x, y: y, off ? theme.warn : theme.dim, clip: inner)
            }
            y += 2
        }
        for d in providers {
            let pool = d.sysfs!.p2pmem!
            let live = jobs.last { $0.request.to == d.bdf }?.snapshot
            let size = live.map { $0.poolSize > 0 ? $0.poolSize : Int(pool.size) } ?? Int(pool.size)
            let sessionPool = actionSession?.engine.providers[d.bdf]
            let available = live.map { $0.poolSize > 0 ? $0.poolAvailable : Int(pool.available) } ?? sessionPool?.available ?? Int(pool.available)
            let name = topology.alias(d.bdf) ?? d.bdf.short
            c.put("\(name) \(d.bdf.short): pool \(size >> 20) MiB, available \(available >> 20) MiB" + (pool.published ? ", published" : ""),
                  x: inner.x, y: y, theme.text, clip: inner)
            y += 1
            Gauge(ratio: 1 - Double(available) / Double(max(1, size)), label: "in use", filled: theme.warn, empty: theme.dim)
                .render(in: Rect(x: inner.x, y: y, width: min(40, inner.width), height: 1), on: &c)
            y += 1
            var heat = live?.heat ?? []
            if heat.isEmpty, let session = actionSession, let prov = session.engine.providers[d.bdf] {
                let buckets = 256, per = max(1, prov.pageCount / buckets)
                heat = (0..<min(buckets, prov.pageCount)).map { b in (b * per..<min(prov.pageCount, (b + 1) * per)).reduce(0) { $0 + prov.pins($1) } }
            }
            let rows = min(4, max(1, (heat.count + inner.width - 1) / max(1, inner.width)))
            Heatmap(heat.isEmpty ? [Int](repeating: 0, count: 64) : heat, maximum: max(1, heat.max() ?? 1),
                    levels: [theme.dim, theme.good, theme.warn, theme.bad])
                .render(in: Rect(x: inner.x, y: y, width: inner.width, height: rows), on: &c)
            y += rows + 1
        }
        // The kernel's own counters, from this machine's /proc/vmstat.
        tickTelemetry()
        if let p = telemetry.lastReadings["pins"], p.stale == nil {
            let rate = telemetry.series["pins.vmstat_acquired"]?.rate.map { "  +\(Int($0))/s" } ?? ""
            c.put("this machine: nr_foll_pin_acquired \(Int(p.values["vmstat_acquired"] ?? 0)), released \(Int(p.values["vmstat_released"] ?? 0)), outstanding \(Int(p.values["outstanding"] ?? 0))\(rate)",
                  x: inner.x, y: y, theme.text, clip: inner)
        } else {
            c.put("this machine: " + (telemetry.stale["pins"] ?? "no pin counters"), x: inner.x, y: y, theme.dim, clip: inner)
        }
        y += 1
        let holders = (telemetry.lastReadings["vmpin"]?.values ?? [:]).filter { $0.key.hasPrefix("vmpin_kb{") && $0.value > 0 }.sorted { $0.value > $1.value }
        if let s = actionSession {
            y += 1
            c.put("actions: engine pins outstanding \(s.engine.vmstat.outstanding); " + (s.log.suffix(2).joined(separator: "; ")), x: inner.x, y: y, theme.accent, clip: inner)
            y -= 1
        }
        c.put("top VmPin: " + (holders.isEmpty ? "none" : holders.prefix(4).map { "\($0.key.dropFirst(9).dropLast()) \(Int($0.value)) kB" }.joined(separator: ", ")),
              x: inner.x, y: y, theme.dim, clip: inner)
    }
}
