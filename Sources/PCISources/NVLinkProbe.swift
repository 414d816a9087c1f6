import LinuxFiles
import PCITopology

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The live machine's NVLinks, where NVIDIA's driver exposes them: `nvidia-smi topo -m` (the
/// NV# cells between GPU rows and columns) joined with `nvidia-smi --query-gpu=index,pci.bus_id`
/// (which GPU index is which function). No driver, no NVLinks — said by the caller, never 0.
public enum NVLinkProbe {
    public static let nvidiaSMI = "/usr/bin/nvidia-smi"

    /// Whether the driver is there to ask.
    public static var available: Bool { FileIO.exists(nvidiaSMI) && FileIO.exists("/dev/nvidiactl") }

    /// Runs nvidia-smi twice (bounded output) and parses both; empty when unavailable or failing.
    public static func live() -> [NVLink] {
        guard available,
              let topo = run([nvidiaSMI, "topo", "-m"]),
              let ids = run([nvidiaSMI, "--query-gpu=index,pci.bus_id", "--format=csv,noheader"]) else { return [] }
        return parse(topo: topo, busIDs: ids)
    }

    /// `0, 00000000:07:00.0` lines → GPU index → BDF.
    static func busIDs(_ text: String) -> [Int: BDF] {
        var out: [Int: BDF] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ",").map { String($0.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
            guard f.count == 2, let i = Int(f[0]) else { continue }
            // nvidia-smi prints an 8-digit domain: 00000000:07:00.0.
            let parts = f[1].split(separator: ":")
            guard parts.count == 3, let domain = UInt32(parts[0], radix: 16) else { continue }
            if let b = BDF(hex(domain, width: 4) + ":" + parts[1] + ":" + parts[2]) { out[i] = b }
        }
        return out
    }

    /// The matrix's GPU×GPU cells that read `NV<n>`, one link record per unordered pair.
    public static func parse(topo: String, busIDs text: String) -> [NVLink] {
        let ids = busIDs(text)
        let lines = topo.split(separator: "\n").map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) }
        // The header names the columns (GPU0 GPU1 … NIC0 … CPU Affinity); rows start with a GPU
        // name followed by cells (X, NV12, PIX, …).
        guard let h = lines.firstIndex(where: { $0.count > 1 && $0[0].hasPrefix("GPU") && $0[1].hasPrefix("GPU") }) else { return [] }
        let header = lines[h]
        var links: [NVLink] = []
        for row in lines[(h + 1)...] where row.count > 1 && row[0].hasPrefix("GPU") {
            guard let a = Int(row[0].dropFirst(3)), let from = ids[a] else { continue }
            for (k, cell) in row.dropFirst().enumerated() where k < header.count {
                guard header[k].hasPrefix("GPU"), let b = Int(header[k].dropFirst(3)), b > a, let to = ids[b],
                      cell.hasPrefix("NV"), let n = Int(cell.dropFirst(2)), n > 0 else { continue }
                links.append(NVLink(from: from, target: to, targetClass: 0x030200, count: n))
            }
        }
        return links
    }

    /// A command's stdout (at most 1 MiB), or nil when it fails.
    static func run(_ argv: [String]) -> String? {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        var pid: pid_t = 0
        let cargs = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        let rc = posix_spawn(&pid, argv[0], &actions, nil, cargs, environ)
        close(fds[1])
        defer { close(fds[0]) }
        guard rc == 0 else { return nil }
        var out = [UInt8](), buf = [UInt8](repeating: 0, count: 65536)
        while out.count < 1 << 20 {
            let n = read(fds[0], &buf, buf.count)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return status == 0 ? String(decoding: out, as: UTF8.self) : nil
    }
}
