/// The guest's PID 1: a shell script p2ptop writes for each boot. It mounts what the host's
/// read-only root lacks (proc, sys, dev, tmpfs for the writable paths, the results share),
/// brings up soft-RoCE, runs one command, records its exit status, and powers the guest off.
public struct GuestInit: Sendable {
    /// The 9p mount tag of the writable results share, and where the guest mounts it.
    public static let resultsTag = "p2ptop-results"
    public static let resultsMount = "/run/p2ptop-lab"

    public enum Console: Sendable, Equatable {
        /// Output to files in the results share; nothing on the serial console but the kernel.
        case batch
        /// The command owns the serial console as its terminal, sized like the user's.
        case interactive(rows: Int, columns: Int, term: String)
    }

    public var command: [String]
    public var console: Console
    /// `rdma link add rxe0 type rxe netdev eth0` before the command (IPv6 link-local only).
    public var softRoCE: Bool
    /// Environment for the command (PATH and HOME are always set).
    public var environment: [(String, String)]

    public init(command: [String], console: Console, softRoCE: Bool = true, environment: [(String, String)] = []) {
        self.command = command; self.console = console; self.softRoCE = softRoCE; self.environment = environment
    }

    /// The script's text.
    public var script: String {
        let r = Self.resultsMount
        var lines = [
            "#!/bin/sh",
            "# p2ptop lab guest init (PID 1), written for one boot.",
            "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/run/home LC_ALL=C.UTF-8",
        ]
        lines += environment.map { "export \($0.0)=\(Self.quote($0.1))" }
        lines += [
            "mount -t proc proc /proc",
            "mount -t sysfs sysfs /sys",
            "mount -t devtmpfs devtmpfs /dev",
            "mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm",
            // Only /tmp and /run: a checkout (and the p2ptop in it) may live anywhere else,
            // /root and /var/tmp included, and must stay visible.
            "mount -t tmpfs tmpfs /tmp && mount -t tmpfs tmpfs /run && mkdir -p /run/home",
            "mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null",
            "mkdir -p \(r) && mount -t 9p -o trans=virtio,version=9p2000.L \(Self.resultsTag) \(r) || echo 'p2ptop-lab: no results share' >/dev/ttyS0",
            "echo 1 > /proc/sys/kernel/sysrq",
            "ulimit -l unlimited",
            "ip link set lo up 2>/dev/null",
        ]
        if softRoCE {
            lines += [
                "if ip link set eth0 up 2>/dev/null; then",
                "  rdma link add rxe0 type rxe netdev eth0 2>\(r)/rxe.err",
                "  i=0; while [ $i -lt 50 ] && ! ip -6 addr show dev eth0 scope link | grep -q 'inet6.*scope link' ; do sleep 0.1; i=$((i+1)); done",
                "fi",
            ]
        }
        let cmd = command.map(Self.quote).joined(separator: " ")
        switch console {
        case .batch:
            lines += [
                "cd \(r)",
                "\(cmd) >\(r)/stdout 2>\(r)/stderr </dev/null",
                "echo $? >\(r)/status",
            ]
        case .interactive(let rows, let columns, let term):
            lines += [
                "export TERM=\(Self.quote(term))",
                "stty -F /dev/ttyS0 rows \(rows) cols \(columns) sane",
                "cd /run/home",
                "setsid -c -w sh -c 'exec \"$@\" </dev/ttyS0 >/dev/ttyS0 2>&1' p2ptop \(cmd)",
                "echo $? >\(r)/status",
            ]
        }
        lines += [
            "dmesg >\(r)/dmesg 2>/dev/null",
            "sync",
            "umount \(r) 2>/dev/null",
            "echo o > /proc/sysrq-trigger",
            // Wait for the power-off with shell builtins only: it shuts the 9p root down
            // first, and an exec from it (sleep) then fails, init exits, and the kernel
            // panics before it powers off (seen on 7.2 under a busy host).
            "while :; do :; done",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// Single-quoted for sh: safe for any text.
    public static func quote(_ s: String) -> String {
        if !s.isEmpty && s.allSatisfy({ $0.isLetter || $0.isNumber || "/._-=:,+@".contains($0) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
