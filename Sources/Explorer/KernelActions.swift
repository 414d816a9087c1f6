import Dispatch
import LinuxFiles
import Synchronization
import P2PEngine
import PCISources
import PCITopology
import RealBackends

/// The explorer's actions done on the running kernel (the lab guest, or a live machine where
/// `--allow-write` was given as root): `m` maps a provider's p2pmem/allocate, `P` holds real
/// pins with an O_DIRECT read in flight into that provider's p2pmem, `U` ends the read (its
/// pins go when its last I/O completes), `u` unbinds the provider's driver through sysfs (on
/// its own thread: the write blocks while pages are pinned), `a` writes ACSCtl (lab only).
/// Each answer is what the kernel said: errno, dmesg lines, /proc/vmstat's FOLL_PIN counters.
public final class KernelActions: @unchecked Sendable {
    /// A block device the pin-holding read comes from (in the lab: the drive QEMU throttles, so
    /// each I/O stays in flight for seconds).
    public struct Drive: Sendable {
        public var label: String
        public var function: BDF
        public var path: String
        public var slow: Bool
        public init(label: String, function: BDF, path: String, slow: Bool) { self.label = label; self.function = function; self.path = path; self.slow = slow }
    }

    /// One action's answer from the kernel, as the dialog shows it (updated while it runs).
    public struct Answer: Sendable {
        public var title: String
        public var lines: [String] = []
        public var command: String = ""
        public var running = false
        public var failed = false
        /// When it started (CLOCK_MONOTONIC seconds), for "waiting N s".
        public var started = 0.0
    }

    public let drives: [Drive]
    /// ACSCtl writes are for the lab guest only (a real machine's ACS is the firmware's and the kernel's).
    public let lab: Bool
    private let state = Mutex<[String: Answer]>([:])
    private var mapping: (provider: BDF, buffer: RealBuffer)?
    /// The pin-holding read, shared with the thread that runs it (it clears it when done).
    private let holding = Mutex<ODirect.Progress?>(nil)
    private let log = KernelLog()

    /// Where the unbind and ACSCtl writes go (the running kernel's sysfs; a fake in tests).
    let writes: any KernelWrites

    public init(drives: [Drive], lab: Bool, writes: any KernelWrites = SysfsKernelWrites()) {
        self.drives = drives; self.lab = lab; self.writes = writes
    }

    /// The provider whose p2pmem `m` mapped last.
    var mappedProvider: BDF? { mapping?.provider }

    /// The answer shown for an action key (`m`, `P`, `U`, `u`, `a`).
    func answer(_ key: String) -> Answer? { state.withLock { $0[key] } }
    private func set(_ key: String, _ a: Answer) { state.withLock { $0[key] = a } }
    private func update(_ key: String, _ f: (inout Answer) -> Void) { state.withLock { if var a = $0[key] { f(&a); $0[key] = a } } }

    var busy: Bool { state.withLock { $0.values.contains { $0.running } } }

    /// `refresh: false` for the figure redrawn every frame: no vm/stat_refresh write 10 times a
    /// second (it folds every CPU's counters); the exact reads are the before/after deltas.
    /// `exact`: the vm/stat_refresh write was taken (root); otherwise the figures are off by up
    /// to the per-CPU batches and are shown with ≈.
    static func pins(refresh: Bool = true) -> (acquired: Int, released: Int, exact: Bool)? {
        let exact = refresh && ODirect.refreshVMStat()
        return ODirect.vmstatPins().map { ($0.0, $0.1, exact) }
    }

    static func pinText(_ before: (acquired: Int, released: Int, exact: Bool)?, _ after: (acquired: Int, released: Int, exact: Bool)?) -> String {
        guard let a = after else { return "/proc/vmstat: no nr_foll_pin_* counters on this kernel" }
        let held = max(0, a.acquired - a.released)
        let approx = a.exact && (before?.exact ?? true) ? "" : "≈"
        let bound = approx.isEmpty ? "" : " (± \(ODirect.approximationBound()) pages: vm/stat_refresh needs root)"
        guard let b = before else { return "/proc/vmstat: \(approx)\(held) pinned now (nr_foll_pin_acquired \(a.acquired), released \(a.released))\(bound)" }
        return "/proc/vmstat: nr_foll_pin_acquired +\(approx)\(a.acquired - b.acquired), released +\(approx)\(a.released - b.released); \(approx)\(held) pinned now\(bound)"
    }

    /// The kernel's lines since the last call (the unbind's thread reads them too: one at a time).
    private let logLock = Mutex(())
    func dmesg() -> [String] { logLock.withLock { _ in (log?.drain() ?? []).suffix(3).map { "dmesg: " + $0 } } }

    static func available(_ bdf: BDF) -> String {
        FileIO.attribute("/sys/bus/pci/devices/\(bdf)/p2pmem/available").flatMap { UInt64($0) }.map { "p2pmem/available \($0 >> 10) KiB" } ?? "no p2pmem/ (unbound?)"
    }

    // MARK: m

    func map(_ provider: BDF) {
        _ = dmesg()
        let before = Self.available(provider)
        var a = Answer(title: "map", command: "mmap(/sys/bus/pci/devices/\(provider)/p2pmem/allocate, 1 MiB)")
        do {
            let b = try RealBuffer(.p2pmem(provider.description), size: 1 << 20)
            mapping = (provider, b)
            a.lines = ["ok: 1 MiB of ZONE_DEVICE pages mapped at 0x\(String(UInt(bitPattern: b.base), radix: 16))",
                       "\(before) → \(Self.available(provider).replacingPrefix("p2pmem/available ", ""))"]
        } catch {
            a.failed = true
            a.lines = ["\(error.errno.description): \(error.message)"]
        }
        a.lines += dmesg()
        set("m", a)
    }

    // MARK: P and U

    /// The drive the read comes from: the slow one if there is one, else any not on the provider.
    func drive(for provider: BDF) -> Drive? {
        drives.first { $0.slow && $0.function != provider } ?? drives.first { $0.function != provider }
    }

    func holdPins(_ provider: BDF) {
        guard holding.withLock({ $0 }) == nil else { set("P", Answer(title: "pin", lines: ["already holding pins: U releases them"], failed: true)); return }
        guard let d = drive(for: provider) else { set("P", Answer(title: "pin", lines: ["no block device to read from here"], failed: true)); return }
        _ = dmesg()
        let before = Self.pins()
        // A long-term pin would hold until U: ask the kernel for one (io_uring's registered
        // buffer pins FOLL_LONGTERM) and say what it answered; the hold is in-flight O_DIRECT.
        let fixed = ODirect.read(path: d.path, into: .p2pmem(provider.description), size: 1 << 20, block: 1 << 20, queueDepth: 1, queue: .ioUringFixed)
        let longTerm = fixed.error.map { "a registered buffer (IORING_REGISTER_BUFFERS, FOLL_LONGTERM) on p2pmem: \($0.errno.description): refused, so the pins are in-flight O_DIRECT" }
            ?? "a registered buffer (IORING_REGISTER_BUFFERS) on p2pmem: allowed here; the hold below is in-flight O_DIRECT all the same"
        let progress = ODirect.Progress()
        holding.withLock { $0 = progress }
        let size = 256 << 20, block = 2 << 20, depth = 4
        let command = "p2ptop transfer --from block:\(d.path) --to p2pmem:\(provider) --size \(size >> 20)M --block \(block >> 20)M --queue-depth \(depth)"
        set("P", Answer(title: "pin", lines: ["O_DIRECT read \(d.label) (\(d.path)\(d.slow ? ", reads throttled" : "")) → p2pmem of \(provider), \(depth) × \(block >> 20) MiB in flight",
                                              "each I/O pins its pages with FOLL_PIN | FOLL_PCI_P2PDMA until it completes", longTerm],
                        command: command, running: true))
        DispatchQueue.global().async { [self] in
            let r = ODirect.read(path: d.path, into: .p2pmem(provider.description), size: size, block: block, queueDepth: depth, ring: true, progress: progress)
            let after = Self.pins()
            update("P") { a in
                a.running = false
                let how = progress.cancelled.load(ordering: .relaxed) ? "ended by U" : "ended"
                a.lines.append(r.error.map { "the read: \($0.errno.description): \($0.message)" } ?? "the read \(how) after \(r.bytes >> 20) MiB")
                a.lines.append(Self.pinText(before, after))
                a.failed = r.error != nil && !progress.cancelled.load(ordering: .relaxed)
            }
            update("U") { a in a.running = false; a.lines.append("the last I/O completed: " + Self.pinText(nil, after)) }
            holding.withLock { $0 = nil }
        }
    }

    func releasePins() {
        guard let progress = holding.withLock({ $0 }) else { set("U", Answer(title: "unpin", lines: ["no pins held by p2ptop (P holds some)"], failed: true)); return }
        progress.cancelled.store(true, ordering: .relaxed)
        set("U", Answer(title: "unpin", lines: ["the read issues no more I/O; an I/O in flight keeps its pins until the device completes it", Self.pinText(nil, Self.pins())],
                        command: "(cancel the O_DIRECT read)", running: true))
    }

    /// Pins held now, for the dialog while a hold runs.
    func liveLines() -> [String] {
        guard holding.withLock({ $0 }) != nil else { return [] }
        return [Self.pinText(nil, Self.pins(refresh: false))]
    }

    // MARK: u

    func unbind(_ provider: BDF) {
        let path = SysfsKernelWrites.unbindPath(provider)
        guard FileIO.exists(path) else { set("u", Answer(title: "unbind", lines: ["\(provider) has no driver bound"], failed: true)); return }
        _ = dmesg()
        let pinned = Self.pins().map { $0.acquired - $0.released } ?? 0
        let t0 = Monotonic.seconds()
        set("u", Answer(title: "unbind", lines: ["writing \(provider) to driver/unbind (\(pinned) pages pinned on this machine now)"],
                        command: "echo \(provider) > \(path)", running: true, started: t0))
        DispatchQueue.global().async { [self] in
            let err = writes.unbindDriver(provider)
            let took = Monotonic.seconds() - t0
            let gone = !FileIO.exists("/sys/bus/pci/devices/\(provider)/p2pmem")
            update("u") { a in
                a.running = false
                a.failed = err != nil
                a.lines.append(err.map { "the unbind failed: \($0)" }
                               ?? "the unbind completed after \(Int((took * 1000).rounded())) ms; p2pmem/ \(gone ? "is gone" : "is still there")")
                a.lines += dmesg()
            }
        }
    }

    /// Seconds the unbind has been waiting, while it does.
    func unbindWaiting(since: Double) -> Double { Monotonic.seconds() - since }

    // MARK: a

    /// Writes ACSCtl of a port through sysfs `config` and reads it back.
    func writeACS(_ port: BDF, offset: Int, bits: UInt16) -> (ok: Bool, readBack: UInt16?, error: String?) {
        guard lab else { return (false, nil, "ACS writes are for the lab guest only") }
        switch writes.writeConfig16(port, offset: offset, value: bits) {
        case .success(let back): return (true, back, nil)
        case .failure(let e): return (false, nil, e.message)
        }
    }
}

extension String {
    func replacingPrefix(_ prefix: String, _ with: String) -> String { hasPrefix(prefix) ? with + dropFirst(prefix.count) : self }
}
