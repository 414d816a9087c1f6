#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PCISources
import P2PEngine
import PCITopology

/// Transfers started from the keyboard: modelled ones on a fabric, real O_DIRECT reads on the
/// live machine. The dialogs build the request; the model starts and keeps the job.
extension ExplorerModel {
    /// A sensible first transfer: an NVMe reading into the first published p2pmem pool it can
    /// reach by bus address (else any), 16 GiB by O_DIRECT.
    func defaultTransfer() -> TransferRequest? {
        guard let provider = topology.devices.first(where: { $0.sysfs?.p2pmem?.published == true }) else { return nil }
        let clients = topology.devices.filter { topology.kind($0.bdf) == .nvme && $0.bdf != provider.bdf }
        let client = clients.first { analyzer.verdict(provider: provider.bdf, client: $0.bdf).mapType == .busAddr } ?? clients.first
        guard let c = client else { return nil }
        return TransferRequest(from: c.bdf, to: provider.bdf, size: 16 << 30, block: 1 << 20, queueDepth: 4, method: .odirect)
    }

    /// Starts a modelled transfer; false (with the reason in the status line) when it cannot.
    @discardableResult func startTransfer(_ request: TransferRequest?) -> Bool {
        guard topology.source.kind != .live else { message = "on the live machine t reads a block device for real; modelled transfers: --fabric NAME"; return false }
        guard let r = request ?? defaultTransfer() else { message = "no published p2pmem provider and NVMe client here"; return false }
        do {
            let job = try TransferJob(request: r, label: transferLabel(r), topology: topology, analyzer: analyzer, arbiter: arbiter)
            job.command = transferCommand(r)
            jobs.append(job)
            message = "started: \(job.label)"
            return true
        } catch {
            message = "engine: \(error)"
            return false
        }
    }

    /// On the live machine: read the selected device's block device (else the first one on a
    /// PCI function; else a file the user types) with O_DIRECT into host memory — read-only,
    /// real kernel pins.
    func realReadPlan() -> RealReadPlan {
        let selected = tree.selected
        let disk = blockDevices.first { $0.function == selected && $0.bytes > 0 } ?? blockDevices.first { $0.bytes > 0 }
        return RealReadPlan(path: disk?.devicePath ?? "", function: disk?.function, size: 0, block: 1 << 20, queueDepth: 4)
    }

    /// Up to 1 GiB (whole MiB) of the block device or file: its size from sysfs or stat.
    @discardableResult func startRealRead(_ plan: RealReadPlan) -> Bool {
        var p = plan
        var st = stat()
        let bytes: UInt64
        if let disk = blockDevices.first(where: { $0.devicePath == p.path }) { bytes = disk.bytes }
        else if stat(p.path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { bytes = UInt64(st.st_size) }
        else { message = p.path.isEmpty ? "type a file or block device to read" : "\(p.path): not a regular file or a known block device"; return false }
        p.size = Int(min(bytes / (1 << 20) * (1 << 20), 1 << 30))
        guard p.size > 0 else { message = "\(p.path) holds less than 1 MiB"; return false }
        let on = p.function.map { " (\(name($0)))" } ?? ""
        let label = "\(p.path.split(separator: "/").last ?? "")\(on) → host \(p.size >> 20)M"
        let bottleneck = p.function.flatMap { topology.device($0) }.flatMap { topology.linkCeiling(of: $0)?.payload }
        let job = TransferJob(realRead: p, label: label, bottleneck: bottleneck)
        job.command = p.command
        jobs.append(job)
        message = "started: \(label) (\(job.command))"
        return true
    }

    func transferLabel(_ r: TransferRequest) -> String {
        "\(name(r.from)) → \(name(r.to)) \(ByteSize.text(UInt64(r.size))) \(r.method.rawValue)"
    }

    /// The one-shot command for a transfer.
    func transferCommand(_ r: TransferRequest) -> String {
        "p2ptop transfer\(sourceFlags) --from \(name(r.from)) --to \(name(r.to)) --via \(r.method.rawValue) --size \(ByteSize.text(UInt64(r.size)))"
    }
}
