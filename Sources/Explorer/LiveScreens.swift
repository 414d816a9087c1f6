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
        let name = { (b: BDF) in self.topology.alias(b) ?? b.short }
        let r = TransferRequest(from: c.bdf, to: provider.bdf, size: 16 << 30, block: 1 << 20, queueDepth: 4, method: .odirect)
        return (r, "\(name(c.bdf)) → \(name(provider.bdf)) 16G odirect")
    }

    func startTransfer() {
        guard topology.source.kind != .live else { message = "on the live machine t reads a block device for real; modelled transfers: --fabric NAME"; return }
        guard let (r, label) = pendingTransfer ?? defaultTransfer() else { message = "no published p2pmem provider and NVMe client here"; return }
        do {
            jobs.append(try TransferJob(request: r, label: label, topology: topology, analyzer: analyzer, arbiter: arbiter))
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
        jobs.append(TransferJob(realRead: p, label: label, bottleneck: bottleneck))
        message = "started: \(label) (p2ptop transfer --from \(p.function == nil ? "file" : "block"):\(p.path) --to host --size \(p.size >> 20)M)"
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

    func renderTransferDialog(_ screenArea: Rect, _ c: inout Canvas) {
        guard let (r, _) = pendingTransfer else { return }
        let name = { (b: BDF?) in b.map { self.topology.alias($0) ?? $0.short } ?? "host" }
        let verdict = r.from.flatMap { f in r.to.map { analyzer.verdict(provider: $0, client: f) } }
        let lines: [Line] = [
            [Span("from   ", theme.dim), Span(name(r.from), theme.accent), Span("  (the NVMe doing the DMA)", theme.dim)],
            [Span("to     ", theme.dim), Span(name(r.to), theme.accent), Span("  (its p2pmem, mmap'd from p2pmem/allocate)", theme.dim)],
            [Span("size   ", theme.dim), Span("\(r.size >> 30) GiB in \(r.block >> 20) MiB I/Os, queue depth \(r.queueDepth)", theme.text)],
            [Span("via    ", theme.dim), Span("O_DIRECT: FOLL_PIN | FOLL_PCI_P2PDMA per I/O", theme.text)],
            [Span("path   ", theme.dim), Span(verdict.map { "\($0.mapType.rawValue), \($0.pathClass.rawValue)" } ?? "?", theme.good)],
            [],
            [Span("Enter", theme.accent), Span(" starts it   "), Span("Esc", theme.accent), Span(" cancels   (p2ptop transfer --from \(name(r.from)) --to \(name(r.to)) --size 16G)", theme.dim)],
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
        if providers.isEmpty { c.put("no p2pmem provider in this topology", x: inner.x, y: y, theme.dim, clip: inner); y += 2 }
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
