import Foundation
import Testing
import TestSupport
import PCITopology
@testable import PCISources

/// gzip without zlib (checked against the real gzip), and the host facts read from a captured root.
@Suite struct HostFactsTests {
    static func gzip(_ data: Data, level: String) throws -> [UInt8] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-gz-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("in")
        try data.write(to: file)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        p.arguments = [level, "-k", "-n", file.path]
        try p.run(); p.waitUntilExit()
        return [UInt8](try Data(contentsOf: file.appendingPathExtension("gz")))
    }

    /// Fixed-Huffman (tiny input), dynamic-Huffman (a kernel config's worth of text), stored
    /// (incompressible bytes) and two concatenated members: byte-exact against gzip's input.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/gzip"), "no gzip"))
    func inflateMatchesGzip() throws {
        var config = "#\n# Automatically generated file; DO NOT EDIT.\n#\n"
        for i in 0..<6000 { config += i % 7 == 0 ? "# CONFIG_OPTION_\(i) is not set\n" : "CONFIG_OPTION_\(i)=\(i % 3 == 0 ? "m" : "y")\n" }
        config += "# CONFIG_PCI_P2PDMA is not set\n"
        var noise = [UInt8](repeating: 0, count: 300_000)
        var x: UInt64 = 88172645463325252
        for i in noise.indices { x ^= x << 13; x ^= x >> 7; x ^= x << 17; noise[i] = UInt8(truncatingIfNeeded: x) }
        for (data, level) in [(Data("a".utf8), "-9"), (Data(config.utf8), "-9"), (Data(config.utf8), "-1"), (Data(noise), "-6")] {
            let gz = try Self.gzip(data, level: level)
            #expect(try Inflate.gunzip(gz) == [UInt8](data), "\(data.count) bytes at \(level)")
        }
        let two = try Self.gzip(Data("first\n".utf8), level: "-9") + (try Self.gzip(Data("second\n".utf8), level: "-9"))
        #expect(String(decoding: try Inflate.gunzip(two), as: UTF8.self) == "first\nsecond\n")
        let gz = try Self.gzip(Data(config.utf8), level: "-9")
        #expect(throws: Inflate.Failure.self) { try Inflate.gunzip(Array(gz.prefix(gz.count / 2))) }
        #expect(throws: Inflate.Failure.self) { try Inflate.gunzip(Array("CONFIG_PCI=y\n".utf8)) }
        // The deflate stream whole but its trailer cut, or a CRC32 that does not match: refused.
        #expect(throws: Inflate.Failure.self) { try Inflate.gunzip(Array(gz.dropLast(4))) }
        var badCRC = gz
        badCRC[gz.count - 8] ^= 1
        #expect(throws: Inflate.Failure.self) { try Inflate.gunzip(badCRC) }
        var corrupt = gz
        for i in stride(from: 20, to: corrupt.count - 8, by: 3) { corrupt[i] ^= 0x5a }
        _ = try? Inflate.gunzip(corrupt)   // must return or throw, never trap
    }

    func root(_ files: [String: String]) throws -> String { try CapturedRoot.make(files, prefix: "p2ptop-host") }

    @Test func factsFromACapturedRoot() throws {
        let r = try root([
            "proc/sys/kernel/osrelease": "6.8.0-45-generic\n",
            "boot/config-6.8.0-45-generic": "CONFIG_PCI=y\nCONFIG_PCI_P2PDMA=y\n",
            "proc/cmdline": "BOOT_IMAGE=/vmlinuz root=/dev/sda1 intel_iommu=on iommu=pt pci=disable_acs_redir=0000:16:02.0 quiet\n",
            "sys/class/iommu/dmar0/.keep": "", "sys/class/iommu/dmar1/.keep": "",
            "sys/kernel/iommu_groups/0/type": "identity\n", "sys/kernel/iommu_groups/12/type": "DMA\n",
            "sys/kernel/security/lockdown": "none [integrity] confidentiality\n",
            "proc/self/limits": "Limit                     Soft Limit           Hard Limit           Units     \nMax locked memory         65536                unlimited            bytes     \n",
            "proc/self/status": "Name:\tp2ptop\nCapEff:\t0000000000000000\n",
            "sys/class/infiniband/mlx5_0/node_type": "1: CA\n",
        ])
        defer { try? FileManager.default.removeItem(atPath: r) }
        let h = HostProbe.facts(root: r)
        #expect(h.p2pdma == .enabled(evidence: "/boot/config-6.8.0-45-generic"))
        #expect(h.iommuUnits == ["dmar0", "dmar1"] && h.iommuDefaultDomain == "identity")
        #expect(h.cmdlineFlags == ["intel_iommu=on", "iommu=pt", "pci=disable_acs_redir=0000:16:02.0"])
        #expect(h.lockdown == "integrity" && !h.iomemStrict)
        #expect(h.memlockSoft == 65536 && h.memlockHard == nil && !h.capIPCLock)
        #expect(h.rdmaDevices == ["mlx5_0"])
    }

    @Test func configFromProcConfigGzOrProviders() throws {
        let off = try root(["proc/sys/kernel/osrelease": "6.18\n"])
        defer { try? FileManager.default.removeItem(atPath: off) }
        #expect(HostProbe.facts(root: off).p2pdma == .unknown(why: "no /boot/config-6.18 or /proc/config.gz, and no device publishes p2pmem/"))
        let provider = try root(["proc/sys/kernel/osrelease": "6.18\n", "sys/bus/pci/devices/0000:01:00.0/p2pmem/size": "0x4000000\n"])
        defer { try? FileManager.default.removeItem(atPath: provider) }
        #expect(HostProbe.facts(root: provider).p2pdma == .enabled(evidence: "1 device(s) with p2pmem/"))
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/gzip") {
            let gz = try Self.gzip(Data("CONFIG_PCI=y\n# CONFIG_PCI_P2PDMA is not set\n".utf8), level: "-9")
            let withGz = try root(["proc/sys/kernel/osrelease": "6.18\n"])
            defer { try? FileManager.default.removeItem(atPath: withGz) }
            try Data(gz).write(to: URL(fileURLWithPath: withGz + "/proc/config.gz"))
            #expect(HostProbe.facts(root: withGz).p2pdma == .disabled(file: "/proc/config.gz"))
            try Data("garbage".utf8).write(to: URL(fileURLWithPath: withGz + "/proc/config.gz"))
            #expect(HostProbe.facts(root: withGz).p2pdma == .unknown(why: "/proc/config.gz: not a gzip file (bad magic at byte 0)"))
        }
    }
}
