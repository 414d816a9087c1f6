#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import LinuxFiles

/// One reading: named values, or stale with the reason the read failed.
public struct Reading: Sendable {
    public var values: [String: Double]
    public var stale: String?
    /// The PCI function (its BDF) each labelled thing belongs to, where sysfs says: a disk's
    /// controller, an RDMA device's NIC. Metrics carry it as `bdf`.
    public var owners: [String: String]
    public init(values: [String: Double], stale: String? = nil, owners: [String: String] = [:]) {
        self.values = values; self.stale = stale; self.owners = owners
    }
}

/// A sampler reads one source of counters under a root directory (`/` live; a fake tree in
/// tests). It never throws: a failure makes its reading stale.
public protocol Sampler {
    var name: String { get }
    func sample() -> Reading
}

// The samplers' file access, through the shared readers.
func readFile(_ path: String) -> String? { FileIO.readString(path) }
func readNumber(_ path: String) -> Double? { FileIO.number(path) }
func listDir(_ path: String) -> [String] { (FileIO.listDirectory(path) ?? []).sorted() }
func path(_ root: String, _ rel: String) -> String { FileIO.join(root, rel) }

/// The last PCI address in a sysfs device path (`…/0000:00:1d.0/0000:3b:00.0/nvme/nvme0/nvme0n1`
/// → `0000:3b:00.0`): the function the thing hangs off; nil for one under no PCI function.
func pciFunction(inDevicePath p: String) -> String? {
    func isBDF(_ s: Substring) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 12, u[4] == UInt8(ascii: ":"), u[7] == UInt8(ascii: ":"), u[10] == UInt8(ascii: ".") else { return false }
        return u.enumerated().allSatisfy { i, c in [4, 7, 10].contains(i) || (c >= 48 && c <= 57) || (c >= 97 && c <= 102) }
    }
    return p.split(separator: "/").last(where: isBDF).map(String.init)
}

/// `/proc/vmstat`: `nr_foll_pin_acquired`, `nr_foll_pin_released` (pages, since boot).
public struct VMStatSampler: Sampler {
    public let root: String
    public var name: String { "pins" }
    public init(root: String) { self.root = root }

    public func sample() -> Reading {
        guard let text = readFile(path(root, "proc/vmstat")) else { return Reading(values: [:], stale: "cannot read \(path(root, "proc/vmstat"))") }
        var v: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let n = Double(parts[1]) else { continue }
            if parts[0] == "nr_foll_pin_acquired" { v["vmstat_acquired"] = n }
            if parts[0] == "nr_foll_pin_released" { v["vmstat_released"] = n }
        }
        guard let a = v["vmstat_acquired"], let r = v["vmstat_released"] else {
            return Reading(values: [:], stale: "no nr_foll_pin_* counters in /proc/vmstat (kernel older than 5.7?)")
        }
        // The counters are folded from per-CPU batches lazily (only vm/stat_refresh, as root,
        // folds them at once): released can read ahead of acquired for a moment. Outstanding
        // is never below zero, and each count is said with its bound — the batch (at most 125
        // pages) times the CPUs online — where the CPUs can be counted.
        v["outstanding"] = max(0, a - r)
        if let cpus = Self.onlineCPUs(root) { v["bound"] = Double(Self.perCPUBatch * cpus) }
        return Reading(values: v)
    }

    /// The most a node counter's per-CPU delta holds before it is folded (`calculate_normal_threshold`'s ceiling).
    public static let perCPUBatch = 125

    /// CPUs in `sys/devices/system/cpu/online` (`0-15`, `0,2-5`).
    static func onlineCPUs(_ root: String) -> Int? {
        guard let text = readFile(path(root, "sys/devices/system/cpu/online")) else { return nil }
        var n = 0
        for part in text.split(whereSeparator: { $0 == "," || $0 == "\n" }) {
            let ends = part.split(separator: "-").compactMap { Int($0.filter(\.isNumber)) }
            guard let lo = ends.first, lo >= 0, lo <= 65536, let hi = ends.last, hi >= lo, hi <= 65536 else { return nil }
            n += hi - lo + 1
        }
        return n > 0 ? n : nil
    }
}

/// `/proc/<pid>/status`: VmPin and VmLck (kB) of every process; the top holders by VmPin (then
/// VmLck), each with both.
public struct ProcessPinSampler: Sampler {
    public let root: String
    public let top: Int
    public var name: String { "vmpin" }
    public init(root: String, top: Int = 5) { self.root = root; self.top = top }

    public func sample() -> Reading {
        var rows: [(String, Double, Double)] = []
        for pid in listDir(path(root, "proc")) where pid.allSatisfy(\.isNumber) {
            guard let text = readFile(path(root, "proc/\(pid)/status")) else { continue }   // exited meanwhile
            var comm = pid, pin = 0.0, lck = 0.0
            for line in text.split(separator: "\n") {
                if line.hasPrefix("Name:") { comm = String(line.dropFirst(5).drop { $0 == " " || $0 == "\t" }) }
                if line.hasPrefix("VmPin:") { pin = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0 }
                if line.hasPrefix("VmLck:") { lck = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0 }
            }
            if pin > 0 || lck > 0 { rows.append(("\(comm)[\(pid)]", pin, lck)) }
        }
        var v: [String: Double] = ["total_vmpin_kb": rows.reduce(0) { $0 + $1.1 }, "total_vmlck_kb": rows.reduce(0) { $0 + $1.2 }]
        for r in rows.sorted(by: { $0.1 > $1.1 || ($0.1 == $1.1 && $0.2 > $1.2) }).prefix(top) {
            v["vmpin_kb{\(r.0)}"] = r.1
            v["vmlck_kb{\(r.0)}"] = r.2
        }
        return Reading(values: v)
    }
}

/// `p2pmem/{size,available}` of every provider under `sys/bus/pci/devices`.
public struct P2PMemSampler: Sampler {
    public let root: String
    public var name: String { "p2pmem" }
    public init(root: String) { self.root = root }

    public func sample() -> Reading {
        var v: [String: Double] = [:]
        let dir = path(root, "sys/bus/pci/devices")
        for bdf in listDir(dir) {
            let size = readNumber(path(dir, "\(bdf)/p2pmem/size"))
            let available = readNumber(path(dir, "\(bdf)/p2pmem/available"))
            if let size { v["size{\(bdf)}"] = size }
            if let available { v["available{\(bdf)}"] = available }
        }
        return Reading(values: v)
    }
}

/// RDMA port counters: `port_xmit_data` / `port_rcv_data` count 4-byte words; reported in bytes.
public struct RDMAPortSampler: Sampler {
    public let root: String
    public var name: String { "rdma" }
    public init(root: String) { self.root = root }

    public func sample() -> Reading {
        var v: [String: Double] = [:]
        let base = path(root, "sys/class/infiniband")
        var owners: [String: String] = [:]
        for dev in listDir(base) {
            let owner = FileIO.readLink(path(base, dev)).flatMap(pciFunction(inDevicePath:))
            for port in listDir(path(base, "\(dev)/ports")) {
                if let owner { owners["\(dev)/\(port)"] = owner }
                let c = path(base, "\(dev)/ports/\(port)/counters")
                if let x = readNumber(path(c, "port_xmit_data")) { v["xmit_bytes{\(dev)/\(port)}"] = x * 4 }
                if let r = readNumber(path(c, "port_rcv_data")) { v["rcv_bytes{\(dev)/\(port)}"] = r * 4 }
                // Soft-RoCE (rxe) keeps no byte counters (no PMA): its packet counters instead.
                let hw = path(base, "\(dev)/ports/\(port)/hw_counters")
                if v["xmit_bytes{\(dev)/\(port)}"] == nil, let x = readNumber(path(hw, "sent_pkts")) { v["xmit_packets{\(dev)/\(port)}"] = x }
                if v["rcv_bytes{\(dev)/\(port)}"] == nil, let r = readNumber(path(hw, "rcvd_pkts")) { v["rcv_packets{\(dev)/\(port)}"] = r }
            }
        }
        return Reading(values: v, owners: owners)
    }
}

/// `sys/block/<disk>/stat`: sectors read and written (512 B), reported in bytes. Virtual disks
/// (loop, zram, ram, device-mapper: those under `devices/virtual`) are left out: their bytes
/// are a real disk's bytes counted again, or no device's at all.
public struct BlockStatSampler: Sampler {
    public let root: String
    public var name: String { "block" }
    public init(root: String) { self.root = root }

    public func sample() -> Reading {
        var v: [String: Double] = [:]
        let base = path(root, "sys/block")
        var owners: [String: String] = [:]
        for disk in listDir(base) {
            let link = FileIO.readLink(path(base, disk))
            if let link, link.contains("/devices/virtual/") { continue }
            guard let text = readFile(path(base, "\(disk)/stat")) else { continue }
            if let owner = link.flatMap(pciFunction(inDevicePath:)) { owners[disk] = owner }
            let f = text.split(separator: " ").compactMap { Double($0) }
            guard f.count >= 7 else { continue }
            v["read_bytes{\(disk)}"] = f[2] * 512
            v["write_bytes{\(disk)}"] = f[6] * 512
        }
        return Reading(values: v, owners: owners)
    }
}

/// Link speed/width and AER totals of every PCI function.
public struct PCIHealthSampler: Sampler {
    public let root: String
    public var name: String { "pci" }
    public init(root: String) { self.root = root }

    public func sample() -> Reading {
        var v: [String: Double] = [:]
        let dir = path(root, "sys/bus/pci/devices")
        for bdf in listDir(dir) {
            if let s = readFile(path(dir, "\(bdf)/current_link_speed")), let g = Double(s.split(separator: " ").first ?? "") { v["link_gts{\(bdf)}"] = g }
            if let w = readNumber(path(dir, "\(bdf)/current_link_width")) { v["link_width{\(bdf)}"] = w }
            for file in ["aer_dev_correctable", "aer_dev_nonfatal", "aer_dev_fatal"] {
                guard let text = readFile(path(dir, "\(bdf)/\(file)")) else { continue }
                for line in text.split(separator: "\n") where line.hasPrefix("TOTAL_") {
                    let p = line.split(separator: " ")
                    if p.count == 2, let n = Double(p[1]) { v["aer_\(p[0].lowercased()){\(bdf)}"] = n }
                }
            }
        }
        return Reading(values: v)
    }
}
