import Exporter
import NIOCore
import Telemetry
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The exporter on loopback under load and against clients that misbehave: each is cut off by
/// a limit, the others keep being answered, and no descriptor is left behind.
@Suite(.serialized) struct BadClientTests {
    static let family = MetricFamily(name: "p2ptop_test_value", kind: .gauge, unit: nil, help: "A fixed value.")

    static func server(_ tweak: (inout ExporterLimits) -> Void = { _ in }) throws -> ExporterServer {
        var limits = ExporterLimits()
        limits.firstRequest = .milliseconds(800)
        limits.keepAlive = .milliseconds(800)
        limits.stalledWrite = .milliseconds(800)
        tweak(&limits)
        let scrape = SharedScrape(stats: ServerStats()) { [MetricCatalog.Sample(family: family, labels: [("bdf", "0000:01:00.0")], value: 42)] }
        return try ExporterServer.start(host: "127.0.0.1", port: 0, limits: limits, scrape: scrape)
    }

    static func connect(_ port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        return r == 0 ? fd : -1
    }

    static func send(_ fd: Int32, _ s: String) -> Bool {
        let b = Array(s.utf8)
        return b.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == b.count
    }

    /// Everything until the peer closes (or 5 s of silence).
    static func readAll(_ fd: Int32) -> String {
        var out: [UInt8] = [], buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func get(_ port: Int, accept: String = "*/*") -> String {
        let fd = connect(port)
        defer { close(fd) }
        guard fd >= 0, send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: \(accept)\r\nConnection: close\r\n\r\n") else { return "" }
        return readAll(fd)
    }

    static func descriptors() -> Int { (try? FileManagerLite.count("/proc/self/fd")) ?? -1 }

    @Test func answersBothFormatsAndAThousandScrapesLeaveNothingBehind() throws {
        let s = try Self.server()
        defer { s.stop() }
        let om = Self.get(s.port, accept: "application/openmetrics-text;version=1.0.0")
        #expect(om.contains("Content-Type: application/openmetrics-text; version=1.0.0"))
        #expect(om.contains("p2ptop_test_value{bdf=\"0000:01:00.0\"} 42") && om.hasSuffix("# EOF\n"))
        let text = Self.get(s.port)
        #expect(text.contains("Content-Type: text/plain; version=0.0.4") && !text.contains("# EOF"))
        let before = Self.descriptors()
        for _ in 0..<1000 { _ = Self.get(s.port) }
        let after = Self.get(s.port)
        #expect(after.contains("p2ptop_exporter_scrapes_total 1002\n"))   // answered before this one's sample
        usleep(200_000)
        #expect(Self.descriptors() == before, "descriptors before \(before), after 1000 scrapes \(Self.descriptors())")
        #expect(s.scrape.stats.openConnections == 0)
    }

    @Test func twoHundredAtOnceAreAllAnswered() throws {
        let s = try Self.server()
        defer { s.stop() }
        let fds = (0..<200).map { _ in Self.connect(s.port) }
        #expect(fds.allSatisfy { $0 >= 0 })
        for fd in fds { _ = Self.send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") }
        let answered = fds.filter { Self.readAll($0).hasPrefix("HTTP/1.1 200 OK") }.count
        fds.forEach { close($0) }
        #expect(answered == 200)
    }

    @Test func aSlowRequestIsCutAndOthersAreServed() throws {
        let s = try Self.server()
        defer { s.stop() }
        let slow = Self.connect(s.port)
        defer { close(slow) }
        let t0 = Monotonic()
        for ch in "GET /metrics HTTP/1.1\r\nHost: x\r\n" {
            if !Self.send(slow, String(ch)) { break }
            #expect(Self.get(s.port).hasPrefix("HTTP/1.1 200 OK"))
            usleep(100_000)
            if t0.elapsed > 3 { break }
        }
        #expect(Self.readAll(slow).isEmpty)   // closed without an answer
        #expect(t0.elapsed < 4)
        #expect(s.scrape.stats.cutConnections >= 1)
    }

    @Test func aMegabyteOfHeadersIsRefused() throws {
        let s = try Self.server()
        defer { s.stop() }
        let fd = Self.connect(s.port)
        defer { close(fd) }
        _ = Self.send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n")
        let line = "X-Filler: " + String(repeating: "a", count: 1000) + "\r\n"
        var sent = 0
        while sent < 1 << 20, Self.send(fd, line) { sent += line.utf8.count }
        let answer = Self.readAll(fd)
        #expect(answer.isEmpty || answer.hasPrefix("HTTP/1.1 400"), "\(answer.prefix(80))")
        #expect(Self.get(s.port).hasPrefix("HTTP/1.1 200 OK"))
    }

    @Test func aClientThatNeverReadsIsCut() throws {
        let s = try Self.server()
        defer { s.stop() }
        let fd = Self.connect(s.port)
        defer { close(fd) }
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let t0 = Monotonic()
        // Requests, pipelined, never a byte read back, until the server stops taking them.
        while t0.elapsed < 6, Self.send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") {}
        #expect(Self.get(s.port).hasPrefix("HTTP/1.1 200 OK"))
        var waited = 0
        while s.scrape.stats.cutConnections == 0 && waited < 50 { usleep(100_000); waited += 1 }
        #expect(s.scrape.stats.cutConnections >= 1, "the stuck client was not cut")
    }
}

/// Seconds since it was made (CLOCK_MONOTONIC).
struct Monotonic {
    let start: Double = Monotonic.now()
    static func now() -> Double { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9 }
    var elapsed: Double { Monotonic.now() - start }
}

enum FileManagerLite {
    static func count(_ dir: String) throws -> Int {
        guard let d = opendir(dir) else { return -1 }
        defer { closedir(d) }
        var n = 0
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            if name != "." && name != ".." { n += 1 }
        }
        return n - 1   // the directory being read
    }
}
