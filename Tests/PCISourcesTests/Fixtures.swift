import Foundation
import TestSupport

/// The shared fixtures (`../shared/fixtures` beside the checkout), read in place.
/// Tests that need them are disabled with a clear message when they are absent.
enum Fixtures {
    static let root: URL? = TestMachine.fixtures.map { URL(fileURLWithPath: $0) }

    static var available: Bool { root != nil }
    static let skipMessage = Comment(rawValue: TestMachine.noFixtures)

    static func path(_ relative: String) -> String { root!.appendingPathComponent(relative).path }

    static func text(_ relative: String) -> String? { try? String(contentsOfFile: path(relative), encoding: .utf8) }

    /// Names of `lspci/*.dump` (without extension).
    static var dumps: [String] {
        guard let root else { return [] }
        let dir = root.appendingPathComponent("lspci").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasSuffix(".dump") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// Names of `sysfs/*.tar.bz2` (without extension).
    static var sysfsTarballs: [String] {
        guard let root else { return [] }
        let dir = root.appendingPathComponent("sysfs").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasSuffix(".tar.bz2") }.map { String($0.dropLast(8)) }.sorted()
    }

    /// Extracts a sysfs tarball into a fresh temporary directory; returns the root inside it.
    static func extract(_ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["xjf", path("sysfs/\(name).tar.bz2"), "-C", dir.path]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else { throw CocoaError(.fileReadCorruptFile) }
        let top = try FileManager.default.contentsOfDirectory(atPath: dir.path).first { !$0.hasPrefix(".") }
        return dir.appendingPathComponent(top ?? "").path
    }
}

import Testing
typealias Comment = Testing.Comment

/// What `lspci -vv` printed for one device: the fields p2ptop must reproduce.
struct LspciDevice {
    var bdf: String
    var regions: [Int: String] = [:]
    var lnkCap: String?
    var lnkSta: String?
    var acsCap: String?
    var acsCtl: String?
    /// DevCap `MaxPayload N bytes`; DevCtl `MaxPayload N bytes, MaxReadReq M bytes`.
    var devCapMaxPayload: Int?
    var maxPayload: Int?
    var maxReadRequest: Int?
}

enum LspciReference {
    /// Parses `lspci -vv` output into devices keyed by full BDF.
    static func parseVerbose(_ text: String) -> [String: LspciDevice] {
        var result: [String: LspciDevice] = [:]
        var current: LspciDevice?
        func flush() { if let c = current { result[c.bdf] = c } }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let first = line.first, first != "\t", first != " ", !line.isEmpty {
                flush()
                let token = String(line.split(separator: " ")[0])
                current = LspciDevice(bdf: token.filter { $0 == ":" }.count == 1 ? "0000:" + token : token)
                continue
            }
            guard current != nil else { continue }
            if line.hasPrefix("\tRegion ") {
                let rest = line.dropFirst("\tRegion ".count)
                let parts = rest.split(separator: ":", maxSplits: 1)
                if let n = Int(parts[0]) { current!.regions[n] = parts[1].trimmingCharacters(in: .whitespaces) }
            } else if line.hasPrefix("\t\tLnkCap:\t") {
                current!.lnkCap = String(line.dropFirst("\t\tLnkCap:\t".count))
            } else if line.hasPrefix("\t\tLnkSta:\t") {
                current!.lnkSta = String(line.dropFirst("\t\tLnkSta:\t".count))
            } else if line.hasPrefix("\t\tDevCap:\tMaxPayload ") {
                current!.devCapMaxPayload = Int(line.dropFirst("\t\tDevCap:\tMaxPayload ".count).prefix { $0.isNumber })
            } else if line.hasPrefix("\t\t\tMaxPayload "), let r = line.range(of: "MaxReadReq ") {
                current!.maxPayload = Int(line.dropFirst("\t\t\tMaxPayload ".count).prefix { $0.isNumber })
                current!.maxReadRequest = Int(line[r.upperBound...].prefix { $0.isNumber })
            } else if line.hasPrefix("\t\tACSCap:\t") {
                current!.acsCap = String(line.dropFirst("\t\tACSCap:\t".count))
            } else if line.hasPrefix("\t\tACSCtl:\t") {
                current!.acsCtl = String(line.dropFirst("\t\tACSCtl:\t".count))
            }
        }
        flush()
        return result
    }

    /// BDFs of `lspci -nn` output, with domains.
    static func parseBDFs(_ text: String) -> [String] {
        text.split(separator: "\n").map { line in
            let token = String(line.split(separator: " ")[0])
            return token.filter { $0 == ":" }.count == 1 ? "0000:" + token : token
        }
    }

    /// `lspci -tv` with the names removed (what follows `dd.f  `), for structure checks.
    static func stripNames(_ tree: String) -> String {
        tree.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard let r = line.range(of: #"[0-9a-f]{2}\.[0-7]  "#, options: .regularExpression) else { return String(line) }
            return String(line[..<line.index(r.upperBound, offsetBy: -2)])
        }.joined(separator: "\n")
    }
}
