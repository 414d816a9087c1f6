import Foundation
import Testing

/// `p2ptop bars`: on every source, the windows listed are those of the bridges above the
/// function (outermost first), and every BAR whose address and size are known lies inside a
/// memory window of the bridge just above it — a check real machines pass and a misread
/// window would fail.
@Suite struct BarsTests {
    @Test func windowsAreTheBridgesAboveAndHoldTheBARs() throws {
        var checkedBARs = 0, checkedDevices = 0
        for source in SourceCorpus.all {
            let list = try CLI.run(["list", "--json"] + source)
            guard let doc = try? JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any],
                  let devices = doc["devices"] as? [[String: Any]] else { continue }
            var parent: [String: String] = [:]
            for d in devices { if let p = d["parent"] as? String { parent[d["bdf"] as! String] = p } }
            for d in devices.filter({ !($0["bars"] as? [Any] ?? []).isEmpty && $0["bridge"] is NSNull && $0["parent"] is String }).prefix(4) {
                let bdf = d["bdf"] as! String
                let r = try CLI.run(["bars", bdf, "--json"] + source)
                let out = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(source) \(bdf): \(r.stderr)")
                #expect(out["schema"] as? String == "p2ptop.bars/1" && out["device"] as? String == bdf)
                var above: [String] = []
                var x = parent[bdf]
                while let p = x { above.append(p); x = parent[p] }
                let windows = out["windows"] as? [[String: Any]] ?? []
                let bridges = windows.compactMap { $0["bridge"] as? String }
                #expect(Set(bridges).isSubset(of: Set(above)), "\(source) \(bdf): windows of bridges not above it")
                // Outermost first: the order of bridges is the reverse of the walk up.
                var seen: [String] = []
                for b in bridges where seen.last != b { seen.append(b) }
                #expect(seen == above.reversed().filter { seen.contains($0) }, "\(source) \(bdf): order")
                guard let up = above.first else { continue }
                let own = windows.filter { $0["bridge"] as? String == up && $0["kind"] as? String != "io" }
                guard !own.isEmpty else { continue }
                checkedDevices += 1
                for b in out["bars"] as? [[String: Any]] ?? [] where b["type"] as? String == "mem" {
                    guard let a = (b["address"] as? String).flatMap({ UInt64($0.dropFirst(2), radix: 16) }), let size = (b["size"] as? NSNumber)?.uint64Value, size > 0 else { continue }
                    let inside = own.contains { w in
                        let base = UInt64((w["address"] as! String).dropFirst(2), radix: 16)!, len = (w["size"] as! NSNumber).uint64Value
                        return a >= base && a + size - 1 <= base + len - 1
                    }
                    #expect(inside, "\(source) \(bdf): BAR \(b["index"]!) outside the windows of \(up)")
                    checkedBARs += 1
                }
            }
        }
        #expect(checkedDevices >= 5 && checkedBARs >= 5, "\(checkedDevices) devices, \(checkedBARs) BARs checked")
        let text = try CLI.run(["bars", "gpu0", "--fabric", "icelake-gpu-switch"], env: ["COLUMNS": "80"])
        #expect(text.status == 0 && text.stdout.contains("BAR 1  64-bit prefetchable") && text.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 })
    }
}
