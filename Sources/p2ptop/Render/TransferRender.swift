import P2PEngine
import PCISources
import PCITopology
import Reports

/// `p2ptop.transfer/1` and the transfer's text, both drawn from one `TransferReport`.
enum TransferRender {
    /// The one shape of `p2ptop.transfer/1`, modelled or real: every key always present, in
    /// this order, null where the kind of transfer has no such fact.
    static let keys = ["ok", "real", "from", "to", "via", "kernel", "bytes", "verified", "seconds", "verify_seconds",
                       "bytes_per_s", "rate_source", "engine_seconds", "throttled", "map_type", "path", "bottleneck", "window", "ios", "queue",
                       "device", "port", "gid_index", "prediction", "kernel_said", "pins", "leaks", "error", "works_via", "verified_trivially"]
    static let pinKeys = ["acquired", "released", "outstanding_after", "registered_vmpin_bytes", "source", "exact", "bound"]

    static func ordered(_ keys: [String], _ pairs: [(String, JSON)]) -> JSON {
        let given = Dictionary(pairs, uniquingKeysWith: { a, _ in a })
        return .object(keys.map { ($0, given[$0] ?? .null) })
    }

    static func json(_ r: TransferReport) -> JSON {
        let o = r.outcome, rdma = r.real && r.via == "rdma"
        let mapType = r.real ? r.prediction?.verdict?.mapType : o.mapType
        let path = r.real ? r.prediction?.verdict?.hops ?? [] : o.path
        let bottleneck = r.real ? r.prediction?.bottleneck : o.bottleneck
        var pins: [(String, JSON)] = [("acquired", .int(Int64(o.pinsAcquired))), ("released", .int(Int64(o.pinsReleased))),
                                      ("source", .string(r.pinSource)), ("exact", .bool(o.pinsExact)),
                                      ("bound", o.pinsExact ? .null : r.pinBound.map { .int(Int64($0)) } ?? .null)]
        if rdma { pins.append(("registered_vmpin_bytes", .int(Int64(o.registeredPinnedKB ?? 0) * 1024))) }
        else { pins.append(("outstanding_after", .int(Int64(r.real ? max(0, o.pinsOutstandingAfter) : o.pinsOutstandingAfter)))) }
        return .object([("schema", .string("p2ptop.transfer/1"))] + keysOf(ordered(keys, [
            ("ok", .bool(o.ok)), ("real", .bool(r.real)), ("from", .string(r.from)), ("to", .string(r.to)), ("via", .string(r.via)),
            ("kernel", r.kernel.map(JSON.string) ?? .null),
            ("bytes", .int(Int64(o.bytes))), ("verified", .bool(o.verified)), ("seconds", .double(o.seconds)),
            ("verify_seconds", o.verifySeconds.map(JSON.double) ?? .null), ("bytes_per_s", .double(o.gbps * 1e9)),
            ("rate_source", .string(o.rateSource.rawValue)), ("engine_seconds", o.engineSeconds.map(JSON.double) ?? .null),
            ("throttled", r.throttled.map(JSON.bool) ?? .null),
            ("map_type", mapType.map { .string($0.rawValue) } ?? .null), ("path", .array(path.map { .string($0.description) })),
            ("bottleneck", bottleneck.map { b in .object([("bdf", .string(b.device.description)), ("link", .string(b.link.text)), ("bytes_per_s", .double(b.bytesPerSecond))]) } ?? .null),
            ("window", r.real ? .null : .int(Int64(o.window))), ("ios", r.real ? .null : .int(Int64(o.ios))),
            ("queue", r.queue.map(JSON.string) ?? .null),
            ("device", o.rdmaDevice.map(JSON.string) ?? .null), ("port", o.rdmaPort.map { .int(Int64($0)) } ?? .null),
            ("gid_index", o.rdmaDevice == nil ? .null : o.gidIndex.map { .int(Int64($0)) } ?? .null),
            ("prediction", r.prediction.map { .string($0.why) } ?? .null),
            ("kernel_said", r.real ? .array((r.prediction?.kernelSaid ?? []).map(JSON.string)) : .null),
            ("pins", ordered(pinKeys, pins)),
            ("leaks", o.leaks.map { l in
                .object([("pins", .int(Int64(l.pins))), ("pages", .int(Int64(l.pages))), ("pool_bytes", .int(Int64(l.poolBytes))),
                         ("mappings", .int(Int64(l.mappings))), ("dmabuf_attachments", .int(Int64(l.dmabufAttachments)))])
            } ?? .null),
            ("error", o.error.map { e in .object([("errno", .string(e.errno.name)), ("message", .string(e.message))]) } ?? .null),
            ("works_via", r.worksVia.map { .array($0.map { .string($0.rawValue) }) } ?? .null),
            // The engine's source is a pattern no two offsets share: never trivially verified.
            ("verified_trivially", rdma ? .null : .bool(r.real && o.verified && o.uniformSource != nil)),
        ])))
    }

    static func keysOf(_ j: JSON) -> [(String, JSON)] { if case .object(let pairs) = j { return pairs }; return [] }

    static func text(_ r: TransferReport, style: Style) -> String {
        r.real ? realText(r, style: style) : modelledText(r, style: style)
    }

    static func modelledText(_ r: TransferReport, style: Style) -> String {
        let o = r.outcome
        var lines = [r.title]
        if let m = o.mapType { lines.append("  map type   \(m.rawValue)" + (o.bottleneck.map { ", bottleneck \($0.link.text) at \($0.device.compact) (\(format1($0.bytesPerSecond / 1e9)) GB/s)" } ?? "")) }
        if o.ok {
            lines.append("  moved      \(ByteSize.text(UInt64(o.bytes))) in \(format2(o.seconds)) s = " + style.good("\(format2(o.gbps)) GB/s")
                         + (o.rateSource == .model ? " (fabric model" + (o.engineSeconds.map { "; the engine took \(format2($0)) s" } ?? "") + ")" : " (engine, unthrottled)"))
            lines.append("  verified   every byte" + (o.verifySeconds.map { " (\(format2($0)) s)" } ?? "") + ", window \(ByteSize.text(UInt64(o.window))), \(o.ios) I/Os")
        } else if let e = o.error {
            lines.append("  refused    " + style.bad(e.errno.description) + ": " + e.message)
        }
        lines.append("  pins       \(o.pinsAcquired) acquired, \(o.pinsReleased) released, \(o.pinsOutstandingAfter) outstanding after")
        if let l = o.leaks, !l.isEmpty { lines.append("  " + style.bad("LEAK: \(l)")) }
        if let instead = r.worksVia, let first = instead.first {
            lines.append("  instead    --via \(first.rawValue) works for this pair"
                         + (instead.count > 1 ? " (also " + instead.dropFirst().map { "--via \($0.rawValue)" }.joined(separator: ", ") + ")" : ""))
        }
        return lines.joined(separator: "\n")
    }

    static func realText(_ r: TransferReport, style: Style) -> String {
        let o = r.outcome
        var lines: [String] = []
        if let e = o.error {
            lines.append("\(r.title): " + style.bad(e.errno.description) + ": " + e.message)
        } else {
            let trivially = o.verified && o.uniformSource != nil && r.via != "rdma"
            lines.append("\(r.title): \(ByteSize.text(UInt64(o.bytes))) in \(format2(o.seconds)) s = \(format2(o.gbps)) GB/s, verified: \(o.verified)"
                         + (trivially ? " (trivially: the source is one byte value throughout)" : ""))
            if r.via == "rdma" {
                lines.append("  kernel pins: the MR held \(o.registeredPinnedKB ?? 0) kB VmPin; /proc/vmstat \(o.pinsAcquired) acquired, \(o.pinsReleased) released")
            } else {
                let approx = o.pinsExact ? "" : "≈"
                lines.append("  kernel pins (/proc/vmstat): \(approx)\(o.pinsAcquired) acquired, \(approx)\(o.pinsReleased) released, \(approx)\(max(0, o.pinsOutstandingAfter)) outstanding system-wide after"
                             + (o.pinsExact ? "" : " (± \(r.pinBound ?? 0) pages of per-CPU batches; --allow-write as root makes them exact)"))
            }
        }
        if let p = r.prediction {
            let b = p.bottleneck.map { ", bottleneck \($0.link.text) at \($0.device.compact)" } ?? ""
            lines.append("  predicted: " + (p.verdict.map { "\($0.mapType.rawValue)\(b) — \(p.why)" } ?? p.why))
            for line in p.kernelSaid { lines.append("  kernel:    " + line) }
        }
        return lines.joined(separator: "\n")
    }
}
