import Foundation
import Testing

/// In sysfs mode lspci 3.9.0 takes a BAR's type (I/O, 64-bit, prefetchable) from the kernel's
/// resource flags, not from the BAR register. Checked against the real lspci on sysfs trees
/// made from this machine's own functions, with register and flags made to disagree.
@Suite struct SysfsFlagsTests {
    static let lspci = FileManager.default.isExecutableFile(atPath: "/usr/bin/lspci")

    /// A one-function tree copied from the live function, with BAR 0's register and resource
    /// flags edited; returns the root.
    static func tree(from bdf: String, register: (UInt32) -> UInt32, flags: (UInt64) -> UInt64) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-flags-\(UUID().uuidString)").path
        let dir = root + "/sys/bus/pci/devices/" + bdf
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in ["vendor", "device", "class", "subsystem_vendor", "subsystem_device", "revision", "irq"] {
            if let d = FileManager.default.contents(atPath: "/sys/bus/pci/devices/\(bdf)/\(f)") { FileManager.default.createFile(atPath: "\(dir)/\(f)", contents: d) }
        }
        var config = [UInt8](try #require(FileManager.default.contents(atPath: "/sys/bus/pci/devices/\(bdf)/config")))
        let old = UInt32(config[0x10]) | UInt32(config[0x11]) << 8 | UInt32(config[0x12]) << 16 | UInt32(config[0x13]) << 24
        let new = register(old)
        for k in 0..<4 { config[0x10 + k] = UInt8((new >> (8 * UInt32(k))) & 0xff) }
        FileManager.default.createFile(atPath: "\(dir)/config", contents: Data(config))
        var lines = try String(contentsOfFile: "/sys/bus/pci/devices/\(bdf)/resource", encoding: .utf8).split(separator: "\n").map(String.init)
        let parts = lines[0].split(separator: " ")
        let f = flags(UInt64(parts[2].dropFirst(2), radix: 16)!)
        lines[0] = "\(parts[0]) \(parts[1]) 0x" + String(repeating: "0", count: 16 - String(f, radix: 16).count) + String(f, radix: 16)
        try (lines.joined(separator: "\n") + "\n").write(toFile: "\(dir)/resource", atomically: true, encoding: .utf8)
        return root
    }

    /// A live function whose BAR 0 is memory with an address.
    static var candidate: String? {
        let devices = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/bus/pci/devices")) ?? []
        return devices.sorted().first { bdf in
            guard let text = try? String(contentsOfFile: "/sys/bus/pci/devices/\(bdf)/resource", encoding: .utf8),
                  let first = text.split(separator: "\n").first else { return false }
            let p = first.split(separator: " ")
            return p.count == 3 && (UInt64(p[2].dropFirst(2), radix: 16) ?? 0) & 0x200 != 0 && p[0] != "0x0000000000000000"
        }
    }

    @Test(.enabled(if: SysfsFlagsTests.lspci && SysfsFlagsTests.candidate != nil, "lspci or a live function with a memory BAR 0 missing"))
    func barTypeComesFromTheKernelsFlagsAsLspciTakesIt() throws {
        let bdf = Self.candidate!
        let cases: [(String, (UInt32) -> UInt32, (UInt64) -> UInt64)] = [
            ("register prefetchable, flags not", { $0 | 0x8 }, { $0 & ~0x2000 }),
            ("flags prefetchable, register not", { $0 & ~0x8 }, { $0 | 0x2000 }),
            ("register 32-bit, flags 64-bit", { $0 & ~0x6 }, { $0 | 0x10_0000 }),
        ]
        for (name, register, flags) in cases {
            let root = try Self.tree(from: bdf, register: register, flags: flags)
            let lspci = try CLI.run(["-c", "/usr/bin/lspci -vv -A linux-sysfs -O sysfs.path=\(root)/sys/bus/pci"], shell: true)
            let region = try #require(lspci.stdout.split(separator: "\n").first { $0.contains("Region 0: Memory at") }, "\(name): \(lspci.stdout)")
            let r = try CLI.run(["list", "--json", "--sysfs-root", root])
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            let bar = try #require(((doc["devices"] as? [[String: Any]])?.first?["bars"] as? [[String: Any]])?.first { $0["index"] as? Int == 0 })
            let prefetchable = bar["prefetchable"] as? Bool == true, is64 = bar["is_64bit"] as? Bool == true
            #expect(region.contains(", prefetchable)") == prefetchable, "\(name): lspci says \(region)")
            #expect(region.contains("(64-bit,") == is64, "\(name): lspci says \(region)")
        }
    }
}
