import LinuxFiles
import P2PEngine
import PCISources
import PCITopology
import RealBackends
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Inside the guest: find the fabric's drives and providers, run every step of the plan for
/// real, and record what the kernel did. Runs as root on the lab kernel; nothing here predicts.
public enum GuestRun {
    /// The byte written over a destination before a read into it (never the drives' pattern).
    static let prefill: UInt8 = 0xA5

    /// What this machine offers the plan. `topology`: the live machine, as p2ptop reads it.
    public static func inventory(_ topology: Topology, root: String = "/") -> LabPlan.Inventory {
        var drives: [(String, BDF, String)] = []
        for ctrl in (FileIO.listDirectory(root + "sys/class/nvme") ?? []).sorted() {
            let dir = root + "sys/class/nvme/" + ctrl
            guard let serial = FileIO.attribute(dir + "/serial"), serial.hasPrefix("p2ptop-"),
                  let fn = FileIO.linkName(dir + "/device"), let bdf = BDF(fn) else { continue }
            let ns = (FileIO.listDirectory(dir) ?? []).sorted().first { $0.hasPrefix(ctrl + "n") || ($0.hasPrefix("nvme") && $0.contains("n1")) }
            guard let ns else { continue }
            drives.append((String(serial.dropFirst(7)), bdf, "/dev/" + ns))
        }
        drives.sort { $0.0 < $1.0 }
        let providers = topology.devices.filter { $0.sysfs?.p2pmem?.published == true }.map(\.bdf)
        let open = topology.devices.compactMap { d -> (BDF, Int)? in
            guard !d.isBridge, d.sysfs?.driver == nil,
                  let b = d.bars.first(where: { $0.space == .memory && $0.prefetchable && $0.is64Bit && (d.sysfs?.resourceFiles.contains($0.index) ?? false) })
            else { return nil }
            return (d.bdf, b.index)
        }
        let rdma = !(FileIO.listDirectory(root + "sys/class/infiniband") ?? []).isEmpty
        return LabPlan.Inventory(drives: drives, providers: providers, openBARs: open, rdma: rdma,
                                 dmabufHeap: FileIO.exists(root + "dev/dma_heap/system"))
    }

    /// Runs every step in order; `say` gets a line per step (the guest's stderr).
    public static func run(_ steps: [LabStep], inventory: LabPlan.Inventory, topology: Topology, say: (String) -> Void) -> [LabObservation] {
        let log = KernelLog()
        var out: [LabObservation] = []
        var lastVerdictLog: [String] = []
        var badSources: [BDF: String] = [:]
        for d in inventory.drives {
            if let why = checkPattern(d.block, label: d.label) { badSources[d.bdf] = why }
        }
        for var s in steps {
            if s.kind == .pins || s.kind == .verdict, let block = inventory.drives.first(where: { $0.bdf == s.device })?.block {
                let name = block.split(separator: "/").last.map(String.init) ?? ""
                s.queueLimit = FileIO.attribute("/sys/block/\(name)/queue/max_sectors_kb").flatMap { Int($0) }.map { $0 * 1024 }
            }
            _ = log?.drain()
            let start = Monotonic.seconds()
            var o: LabObservation
            switch s.kind {
            case .verdict, .pins:
                o = odirect(s, badSource: s.device.flatMap { badSources[$0] }, inventory)
                o.kernelLog = log?.drain() ?? []
                if s.kind == .verdict { lastVerdictLog = o.kernelLog }
            case .reason:
                o = LabObservation(step: s, observed: KernelReason.classify(lastVerdictLog))
                o.kernelLog = lastVerdictLog
            case .p2pmemRule: o = p2pmemRule(s)
            case .available: o = available(s)
            case .rdmaRegister, .rdmaDmabuf:
                let r = VerbsRegistration.probe(target: realKind(s.memory ?? .host), size: s.size, writable: s.kind == .rdmaDmabuf || s.variant == "write")
                o = LabObservation(step: s, observed: r.error?.errno.name ?? "ok")
                o.vmPinKB = r.vmPinKB; o.pinsAcquired = r.pinsAcquired; o.pinsReleased = r.pinsReleased
                o.detail = r.error?.message ?? "on \(r.device)"
            case .rdmaWrite:
                let r = VerbsLoopback.run(.init(device: nil, port: nil, target: realKind(s.memory ?? .host), size: s.size, block: s.block),
                                          inventory: VerbsRDMASource().inventory())
                o = LabObservation(step: s, observed: r.error?.errno.name ?? (r.verified ? "ok" : "corrupt"))
                o.verified = r.verified; o.gbps = r.gbps; o.vmPinKB = r.registeredPinnedKB ?? 0
                o.pinsAcquired = r.pinsAcquired; o.pinsReleased = r.pinsReleased
                o.detail = r.error?.message ?? "\(r.rdmaDevice ?? "?") port \(r.rdmaPort ?? 0), GID \(r.gidIndex ?? 0)"
            case .barRead, .barWrite: o = bar(s)
            case .barPolicy: o = barPolicy(s, topology)
            case .unbind: o = s.variant == "pinned" ? unbindPinned(s, inventory) : unbind(s)
            }
            if o.seconds == nil { o.seconds = Monotonic.seconds() - start }
            if s.kind != .reason { o.kernelLog += log?.drain() ?? [] }
            say("\(s.name): \(o.observed)")
            out.append(o)
        }
        return out
    }

    static func realKind(_ m: LabMemory) -> RealBuffer.Kind {
        switch m {
        case .host: .host
        case .p2pmem(let b): .p2pmem(b.description)
        case .dmabuf(let h): .dmabuf(heap: h)
        }
    }

    /// The drive's first 64 KiB must be the lab's pattern: otherwise a read proves nothing.
    static func checkPattern(_ block: String, label: String) -> String? {
        let got: [UInt8]
        switch FileIO.readPrefix(block, count: 64 << 10, regularOnly: false) {
        case .success(let b): got = b
        case .failure(let e): return "\(block): \(e)"
        }
        guard got.count == 64 << 10, got == LabMachine.pattern(label: label, count: got.count) else { return "\(block) does not hold the lab's pattern for \(label)" }
        return nil
    }

    static func odirect(_ s: LabStep, badSource: String?, _ inv: LabPlan.Inventory) -> LabObservation {
        guard let d = s.device, let drive = inv.drives.first(where: { $0.bdf == d }), let m = s.memory else {
            return LabObservation(step: s, observed: "skipped: no such drive")
        }
        if let badSource { return LabObservation(step: s, observed: "bad source", detail: badSource) }
        let queue = ODirect.Queue(rawValue: s.queue) ?? .threads
        // The guest is disposable: vm/stat_refresh is written so the pin counts are exact.
        let r = ODirect.read(path: drive.block, into: realKind(m), size: s.size, block: s.block, queueDepth: s.queueDepth, queue: queue, prefill: prefill,
                             exactPins: true)
        var observed = r.error?.errno.name ?? "ok"
        if let e = r.error, e.message.hasPrefix("verification failed") { observed = "corrupt" }
        // Pins count what the kernel pinned, whether or not the bytes then verified (under an
        // emulated IOMMU a peer write can be faulted after the mapping was accepted).
        if s.kind == .pins && (r.error == nil || observed == "corrupt") { observed = "\(r.pinsAcquired)" }
        var o = LabObservation(step: s, observed: observed, detail: r.error?.message ?? "")
        o.verified = r.verified; o.pinsAcquired = r.pinsAcquired; o.pinsReleased = r.pinsReleased
        o.gbps = r.error == nil ? r.gbps : nil
        o.seconds = r.seconds
        return o
    }

    static func allocatePath(_ b: BDF) -> String { "/sys/bus/pci/devices/\(b)/p2pmem/allocate" }

    static func p2pmemRule(_ s: LabStep) -> LabObservation {
        guard let p = s.device else { return LabObservation(step: s, observed: "skipped") }
        let fd: Int32
        switch FileIO.openDescriptor(allocatePath(p), .readWrite) {
        case .success(let d): fd = d
        case .failure(let e): return LabObservation(step: s, observed: Errno(code: e.errno ?? 0, otherwise: .EIO).name, detail: "open p2pmem/allocate")
        }
        defer { close(fd) }
        var length = 2 << 20, flags = MAP_SHARED, offset: off_t = 0
        switch s.variant {
        case "MAP_PRIVATE": flags = MAP_PRIVATE
        case "offset": offset = 4096
        default:
            let available = Int(FileIO.attribute("/sys/bus/pci/devices/\(p)/p2pmem/available") ?? "") ?? 0
            length = (available / 4096 + 1) * 4096
        }
        guard let m = mmap(nil, length, PROT_READ | PROT_WRITE, flags, fd, offset), m != MAP_FAILED else {
            return LabObservation(step: s, observed: Errno(code: errno, otherwise: .EIO).name, detail: "mmap of \(length) bytes")
        }
        munmap(m, length)
        return LabObservation(step: s, observed: "ok", detail: "mmap of \(length) bytes")
    }

    static func available(_ s: LabStep) -> LabObservation {
        guard let p = s.device else { return LabObservation(step: s, observed: "skipped") }
        func now() -> Int { Int(FileIO.attribute("/sys/bus/pci/devices/\(p)/p2pmem/available") ?? "") ?? -1 }
        let before = now()
        let fd: Int32
        switch FileIO.openDescriptor(allocatePath(p), .readWrite) {
        case .success(let d): fd = d
        case .failure(let e): return LabObservation(step: s, observed: Errno(code: e.errno ?? 0, otherwise: .EIO).name)
        }
        defer { close(fd) }
        guard let m = mmap(nil, s.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), m != MAP_FAILED else {
            return LabObservation(step: s, observed: Errno(code: errno, otherwise: .EIO).name)
        }
        var off = 0
        while off < s.size { m.storeBytes(of: 1, toByteOffset: off, as: UInt8.self); off += 4096 }
        let mapped = now()
        munmap(m, s.size)
        let after = now()
        return LabObservation(step: s, observed: AvailableText.text(fell: before - mapped, recovered: after - mapped),
                              detail: "available \(before) → \(mapped) → \(after)")
    }

    static func bar(_ s: LabStep) -> LabObservation {
        guard let d = s.device, let b = s.bar else { return LabObservation(step: s, observed: "skipped") }
        do throws(EngineError) {
            if s.kind == .barRead {
                let g = try BARAccess.readBandwidth(device: d, bar: b, size: s.size)
                var o = LabObservation(step: s, observed: "ok", detail: "MMIO read of \(s.size >> 20) MiB")
                o.gbps = g
                return o
            }
            let w = try BARAccess.writeTest(device: d, bar: b, size: s.size, writeCombining: false)
            var o = LabObservation(step: s, observed: w.verified && w.restored ? "ok" : (w.verified ? "not restored" : "corrupt"),
                                   detail: "pattern \(w.verified ? "read back" : "lost"), contents \(w.restored ? "restored" : "NOT restored")")
            o.gbps = w.writeGBps; o.verified = w.verified
            return o
        } catch { return LabObservation(step: s, observed: error.errno.name, detail: error.message) }
    }

    /// p2ptop's rules with what the running guest says of the device (driver, root, lockdown).
    static func barPolicy(_ s: LabStep, _ t: Topology) -> LabObservation {
        guard let d = s.device.flatMap({ t.device($0) }), let b = d.bars.first(where: { $0.index == (s.bar ?? 0) }) else {
            return LabObservation(step: s, observed: "skipped")
        }
        let host = HostProbe.facts(root: "/")
        let facts = BARAccessPolicy.Facts(bar: b, driver: FileIO.linkName("/sys/bus/pci/devices/\(d.bdf)/driver"),
                                          hasResourceFile: FileIO.exists("/sys/bus/pci/devices/\(d.bdf)/resource\(b.index)"),
                                          isRoot: geteuid() == 0, lockdown: host.lockdown, iomemStrict: host.iomemStrict)
        switch BARAccessPolicy.check(facts, write: s.variant == "write", allowWrite: true, allowDriverBAR: true) {
        case .allowed: return LabObservation(step: s, observed: "allowed")
        case .refused(let rule, let reason): return LabObservation(step: s, observed: "refused (\(rule))", detail: reason)
        }
    }

    /// A child maps and touches p2pmem, the provider's driver is unbound, then the child
    /// touches it again: how long the unbind took, and what the child got.
    static func unbind(_ s: LabStep) -> LabObservation {
        guard let p = s.memory?.p2pmemDevice ?? s.device else { return LabObservation(step: s, observed: "skipped") }
        // Before 6.2 there is nothing to map (the kernel's answer, not a failed experiment).
        guard FileIO.exists("/sys/bus/pci/devices/\(p)/p2pmem/allocate") else {
            return LabObservation(step: s, observed: "ENOENT", detail: "/sys/bus/pci/devices/\(p)/p2pmem/allocate does not exist on this kernel")
        }
        let dir = "/tmp/p2ptop-hold-\(getpid())"
        mkdir(dir, 0o700)
        let ready = dir + "/ready", go = dir + "/go"
        let child: Subprocess
        do {
            child = try Subprocess.spawn(["/proc/self/exe", "lab", "hold", "--memory", LabMemory.p2pmem(p).description,
                                          "--size", "\(s.size)", "--ready", ready, "--go", go], output: .file(dir + "/hold.log"))
        } catch { return LabObservation(step: s, observed: "skipped: \(error)") }
        let deadline = Monotonic.seconds() + 60
        while !FileIO.exists(ready) && child.poll() == nil && Monotonic.seconds() < deadline { usleep(20_000) }
        guard FileIO.exists(ready) else {
            child.terminate()
            return LabObservation(step: s, observed: "skipped: the holder never mapped p2pmem", detail: readText(dir + "/hold.log") ?? "")
        }
        let t0 = Monotonic.seconds()
        let unbound = SysfsKernelWrites().unbindDriver(p) == nil
        let took = Monotonic.seconds() - t0
        let gone = !FileIO.exists("/sys/bus/pci/devices/\(p)/p2pmem")
        writeText(go, "go\n")
        let status = child.wait()
        let observed = !unbound ? "unbind failed" : status == 128 + SIGBUS ? "SIGBUS" : status == 0 ? "ok" : "exit \(status)"
        var o = LabObservation(step: s, observed: observed,
                               detail: "unbind returned in \(Int(took * 1000)) ms; p2pmem/ \(gone ? "gone" : "still there")")
        o.seconds = took
        return o
    }

    /// A throttled drive's O_DIRECT read into a provider's p2pmem is in flight (its pages
    /// pinned) when the provider's driver is unbound: does the unbind wait for it?
    static func unbindPinned(_ s: LabStep, _ inv: LabPlan.Inventory) -> LabObservation {
        guard let client = s.device, let drive = inv.drives.first(where: { $0.bdf == client }), let p = s.memory?.p2pmemDevice else {
            return LabObservation(step: s, observed: "skipped")
        }
        let out = "/tmp/p2ptop-pinned-\(getpid()).json"
        // Earlier steps' pins may still be on their way back (io_uring drops a registered
        // buffer from a workqueue after its ring is gone): wait until the count is still for
        // 300 ms, so that the read's own pins are what moves it.
        var base = ODirect.vmstatPins(refresh: true).map { $0.0 - $0.1 } ?? 0
        var still = Monotonic.seconds()
        let settle = Monotonic.seconds() + 5
        while Monotonic.seconds() < settle && Monotonic.seconds() - still < 0.3 {
            usleep(50_000)
            let now = ODirect.vmstatPins(refresh: true).map { $0.0 - $0.1 } ?? 0
            if now != base { base = now; still = Monotonic.seconds() }
        }
        let child: Subprocess
        do {
            child = try Subprocess.spawn(["/proc/self/exe", "transfer", "--from", "block:" + drive.block, "--to", "p2pmem:\(p)",
                                          "--size", "\(s.size)", "--block", "\(s.block)", "--queue-depth", "\(s.queueDepth)", "--json"], output: .file(out))
        } catch { return LabObservation(step: s, observed: "skipped: \(error)") }
        // Wait until the read's pages are pinned (or it ended: the kernel refused it).
        let deadline = Monotonic.seconds() + 10
        var held = 0
        while child.poll() == nil && Monotonic.seconds() < deadline {
            held = (ODirect.vmstatPins(refresh: true).map { $0.0 - $0.1 } ?? 0) - base
            if held >= s.block / 4096 { break }
            usleep(20_000)
        }
        let t0 = Monotonic.seconds()
        _ = SysfsKernelWrites().unbindDriver(p)
        let took = Monotonic.seconds() - t0
        let status = child.wait()
        // The transfer's own p2ptop.transfer/1 document says how the read ended.
        let doc = try? JSON.parse(Array((readText(out) ?? "").utf8))
        let read = status > 128 ? "killed by signal \(status - 128)\(status - 128 == SIGBUS ? " (SIGBUS: it touched the zapped mapping)" : "")"
            : doc?["error"]?["errno"]?.stringValue.map { e in e + (doc?["error"]?["message"]?.stringValue.map { " (\($0))" } ?? "") }
                ?? (doc?["verified"]?.boolValue == true ? "ok, verified" : "exit \(status)")
        var o = LabObservation(step: s, observed: took > 1.5 ? "waits" : "returns",
                               detail: "\(held) pages pinned when the unbind began; it returned after \(Int(took * 1000)) ms; the read: \(read)")
        o.seconds = took
        return o
    }

    /// `p2ptop lab hold`: the child of the unbind experiment.
    public static func hold(memory: LabMemory, size: Int, ready: String, go: String) -> Int32 {
        let buffer: RealBuffer
        do { buffer = try RealBuffer(realKind(memory), size: size) } catch {
            fputs("hold: \(error)\n", stderr)
            return 2
        }
        var off = 0
        while off < size { buffer.base.storeBytes(of: 0x5A, toByteOffset: off, as: UInt8.self); off += 4096 }
        writeText(ready, "mapped\n")
        let deadline = Monotonic.seconds() + 120
        while !FileIO.exists(go) && Monotonic.seconds() < deadline { usleep(20_000) }
        // After the unbind: the PTEs are gone, and this store faults.
        buffer.base.storeBytes(of: 0x5B, toByteOffset: 0, as: UInt8.self)
        withExtendedLifetime(buffer) {}
        return 0
    }
}

/// The kernel's reason lines for a pair (p2pdma's pci_warn), reduced to what p2ptop predicts:
/// the ACS ports it names with its own remedy, and whether it refused the pair.
public enum KernelReason {
    public static let notShared = "do not share an upstream bridge or whitelisted host bridge"
    public static let acsRedirect = "ACS redirect is set between the client and provider"
    public static let hostBridgeWarning = "Host bridge not in P2PDMA whitelist: "
    static let remedyPrefix = "add the kernel parameter: "

    /// "none", or e.g. "ACS redirect: pci=disable_acs_redir=0000:00:12.0; not allowlisted".
    public static func classify(_ lines: [String]) -> String {
        var parts: [String] = []
        if lines.contains(where: { $0.contains(acsRedirect) }) {
            let remedy = lines.compactMap { line -> String? in
                guard let r = line.range(of: remedyPrefix) else { return nil }
                return String(line[r.upperBound...]).trimmingCharacters(in: " \n")
            }.first
            parts.append("ACS redirect: " + (remedy.map(Self.normalize) ?? "?"))
        }
        if lines.contains(where: { $0.contains(notShared) }) { parts.append("not allowlisted") }
        // "pci 0000:40:01.0: Host bridge not in P2PDMA whitelist: 1b36:000c": the function the
        // kernel took for the host bridge, and its IDs.
        var bridges: [String] = []
        for line in lines {
            guard let r = line.range(of: ": " + hostBridgeWarning) else { continue }
            let ids = line[r.upperBound...].trimmingCharacters(in: " \n")
            let who = line[..<r.lowerBound].split(separator: " ").last.map(String.init) ?? "?"
            let text = "host bridge \(who) \(ids)"
            if !bridges.contains(text) { bridges.append(text) }
        }
        parts += bridges
        return parts.isEmpty ? "none" : parts.joined(separator: "; ")
    }

    /// `pci=disable_acs_redir=B;A` with the ports sorted, so order does not matter.
    public static func normalize(_ remedy: String) -> String {
        let prefix = "pci=disable_acs_redir="
        guard remedy.hasPrefix(prefix) else { return remedy }
        return prefix + remedy.dropFirst(prefix.count).split(separator: ";").map(String.init).sorted().joined(separator: ";")
    }
}

/// The `available` experiment's text: how far p2pmem/available fell and came back.
public enum AvailableText {
    public static func text(fell: Int, recovered: Int) -> String { "fell \(fell), recovered \(recovered)" }
}

extension LabObservation {
    init(step: LabStep, observed: String, detail: String) {
        self.init(step: step, observed: observed)
        self.detail = detail
    }
}
