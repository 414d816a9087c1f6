import Foundation
import Testing

/// NVLink as nvidia-smi shows it (NV#): from hwloc's NVLinkBandwidth matrix — checked against
/// the matrix lstopo printed for the same file — and from NCCL's <nvlink count>.
@Suite struct NVLinkTests {
    func pairs(_ args: [String]) throws -> [[String: Any]] {
        let r = try CLI.run(["matrix", "--json"] + args)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        return try #require(doc["pairs"] as? [[String: Any]])
    }

    @Test(.needsFixtures)
    func hwlocNVLinkCountsAreLstoposMatrix() throws {
        let name = CLI.fixtures! + "/hwloc/hwloc-power8gpudistances"
        // lstopo -v: "Relative bandwidth matrix (name NVLinkBandwidth …)", rows nvmlN, MB/s.
        let lstopo = try String(contentsOfFile: name + ".lstopo-v.txt", encoding: .utf8).split(separator: "\n")
        let start = try #require(lstopo.firstIndex { $0.contains("name NVLinkBandwidth") })
        let header = lstopo[start + 1].split(separator: " ").dropFirst().map(String.init)
        var expected: [String: Int] = [:]   // "nvmlA nvmlB" → links (P100: 20 000 MB/s a link)
        for row in lstopo[(start + 2)...].prefix(header.count) {
            let f = row.split(separator: " ").map(String.init)
            for (k, v) in f.dropFirst().enumerated() where f[0].hasPrefix("nvml") && header[k].hasPrefix("nvml") && f[0] != header[k] {
                if let mbs = Int(v), mbs > 0 { expected["\(f[0]) \(header[k])"] = mbs / 20_000 }
            }
        }
        #expect(expected.count == 4, "\(expected)")
        // nvmlN → its GPU's BDF, from p2ptop's own OS devices.
        let list = try CLI.run(["list", "--json", "--hwloc", name + ".xml"])
        let devices = try #require((try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any])?["devices"] as? [[String: Any]])
        var nvml: [String: String] = [:]
        for d in devices {
            for os in ((d["sysfs"] as? [String: Any])?["os_devices"] as? [[String: Any]]) ?? [] {
                if let n = os["name"] as? String, n.hasPrefix("nvml") { nvml[d["bdf"] as! String] = n }
            }
        }
        var seen = 0
        for p in try pairs(["--hwloc", name + ".xml"]) {
            guard let a = nvml[p["provider"] as! String], let b = nvml[p["client"] as! String] else { continue }
            #expect(p["nvlinks"] as? Int == expected["\(a) \(b)"], "\(a)–\(b)")
            seen += 1
        }
        #expect(seen == 12)
        let text = try CLI.run(["matrix", "--kind", "gpu", "--hwloc", name + ".xml"])
        #expect(text.stdout.contains("NV2 -") && text.stdout.contains("SYS -"))
    }

    @Test func ncclNVLinkCountsAreTheFiles() throws {
        let file = CLI.temp("""
            <system version="1">
              <cpu numaid="0" vendor="GenuineIntel" familyid="6">
                <pci busid="ffff:ff:01.0" class="0x060400" link_speed="16 GT/s" link_width="16">
                  <pci busid="0000:01:00.0" class="0x030200" vendor="0x10de" device="0x20b0" link_speed="16 GT/s" link_width="16">
                    <gpu dev="0"><nvlink target="0000:02:00.0" count="6" tclass="0x030200"/></gpu>
                  </pci>
                  <pci busid="0000:02:00.0" class="0x030200" vendor="0x10de" device="0x20b0" link_speed="16 GT/s" link_width="16">
                    <gpu dev="1"><nvlink target="0000:01:00.0" count="6" tclass="0x030200"/></gpu>
                  </pci>
                  <pci busid="0000:03:00.0" class="0x030200" vendor="0x10de" device="0x20b0" link_speed="16 GT/s" link_width="16">
                    <gpu dev="2"><nvlink target="fffe:00:00.0" count="12" tclass="0x068000"/></gpu>
                  </pci>
                </pci>
              </cpu>
            </system>

            """)
        let p = try pairs(["--nccl", file])
        let nv = p.filter { $0["nvlinks"] as? Int != nil }
        #expect(nv.count == 2 && nv.allSatisfy { $0["nvlinks"] as? Int == 6 }, "one pair, both orders: \(nv)")
        #expect(p.first { $0["provider"] as? String == "0000:01:00.0" && $0["client"] as? String == "0000:03:00.0" }?["nvlinks"] is NSNull)
        let tree = try CLI.run(["tree", "--nccl", file], env: ["COLUMNS": "200"])
        #expect(tree.stdout.contains("[gpu2, GPU, NVSwitch") && tree.stdout.contains("[gpu0, GPU, NVLink"))
        let path = try CLI.run(["path", "gpu0", "gpu1", "--nccl", file], env: ["COLUMNS": "200"])
        #expect(path.stdout.contains("nvlink:  NV6"))
        // Azure's NC A100 v4 file names each GPU as its own NVLink target: said so, no pair invented.
        if let fixtures = CLI.fixtures {
            let ncv4 = fixtures + "/nccl/azure-ncv4-topo.xml"
            #expect(try pairs(["--nccl", ncv4]).allSatisfy { $0["nvlinks"] is NSNull })
            #expect(try CLI.run(["show", "gpu0", "--nccl", ncv4]).stdout.contains("NV12 to itself (the file names no peer)"))
        }
    }
}
