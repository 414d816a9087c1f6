import LinuxFiles
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Telemetry

/// One scrape's text in both formats, made once and served to every scraper that asked while
/// it was being taken.
public struct Exposition: Sendable {
    public let openMetrics: [UInt8]
    public let prometheus: [UInt8]
    public let samples: Int
    /// How long reading the counters (and, when due, the facts) took.
    public let seconds: Double

    public func body(_ f: OpenMetrics.Format) -> [UInt8] { f == .openMetrics ? openMetrics : prometheus }
}

/// What the server counts about itself, shown as `p2ptop_exporter_*`.
public final class ServerStats: Sendable {
    struct Counts { var scrapes = 0, open = 0, refused = 0, cut = 0 }
    private let counts = NIOLockedValueBox(Counts())

    public init() {}
    func scraped() { counts.withLockedValue { $0.scrapes += 1 } }
    /// A connection opened; false when it is over the cap (it is counted as refused, not open).
    func opened(max: Int) -> Bool {
        counts.withLockedValue { c in
            guard c.open < max else { c.refused += 1; return false }
            c.open += 1
            return true
        }
    }
    func closed() { counts.withLockedValue { $0.open -= 1 } }
    func cutOff() { counts.withLockedValue { $0.cut += 1 } }
    public var openConnections: Int { counts.withLockedValue { $0.open } }
    public var cutConnections: Int { counts.withLockedValue { $0.cut } }
    public var refusedConnections: Int { counts.withLockedValue { $0.refused } }
    public var scrapes: Int { counts.withLockedValue { $0.scrapes } }

    static let scrapesFamily = MetricFamily(name: "p2ptop_exporter_scrapes", kind: .counter, unit: nil, help: "Requests for /metrics answered.")
    static let durationFamily = MetricFamily(name: "p2ptop_exporter_sample_duration_seconds", kind: .gauge, unit: "seconds",
                                             help: "How long the sample served now took to read.")
    static let openFamily = MetricFamily(name: "p2ptop_exporter_connections_open", kind: .gauge, unit: nil, help: "Connections open now.")
    static let refusedFamily = MetricFamily(name: "p2ptop_exporter_connections_refused", kind: .counter, unit: nil,
                                            help: "Connections closed at once because the cap (--max-connections) was reached.")
    static let cutFamily = MetricFamily(name: "p2ptop_exporter_connections_cut", kind: .counter, unit: nil,
                                        help: "Connections cut off by a timeout or a limit (a slow request, a client that does not read).")
    public static let families = [scrapesFamily, durationFamily, openFamily, refusedFamily, cutFamily]

    func samples(duration: Double) -> [MetricCatalog.Sample] {
        let c = counts.withLockedValue { $0 }
        return [.init(family: Self.scrapesFamily, labels: [], value: Double(c.scrapes)),
                .init(family: Self.durationFamily, labels: [], value: duration),
                .init(family: Self.openFamily, labels: [], value: Double(c.open)),
                .init(family: Self.refusedFamily, labels: [], value: Double(c.refused)),
                .init(family: Self.cutFamily, labels: [], value: Double(c.cut))]
    }
}

/// Scrapes that arrive together share one sample: the first starts it on the sampling thread,
/// the others wait for the same result. The collector runs on that one thread, one call at a
/// time, so it needs no lock of its own.
public final class SharedScrape: @unchecked Sendable {
    private let lock = NIOLock()
    private var waiters: [EventLoopPromise<Exposition>] = []
    private var running = false
    private let pool: NIOThreadPool
    private let collect: () -> [MetricCatalog.Sample]
    public let stats: ServerStats

    public init(stats: ServerStats, collect: @escaping () -> [MetricCatalog.Sample]) {
        self.stats = stats
        self.collect = collect
        pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
    }

    public func shutdown() { try? pool.syncShutdownGracefully() }

    public func exposition(on loop: EventLoop) -> EventLoopFuture<Exposition> {
        let p = loop.makePromise(of: Exposition.self)
        let start: Bool = lock.withLock {
            waiters.append(p)
            if running { return false }
            running = true
            return true
        }
        if start {
            pool.submit { [self] _ in
                let e = take()
                let ws: [EventLoopPromise<Exposition>] = lock.withLock {
                    let w = waiters
                    waiters = []
                    running = false
                    return w
                }
                for w in ws { w.succeed(e) }
            }
        }
        return p.futureResult
    }

    /// Also the benchmark's and the tests' way in: one sample, rendered in both formats.
    public func take() -> Exposition {
        let t0 = Monotonic.seconds()
        let samples = collect()
        let seconds = Monotonic.seconds() - t0
        let all = MetricCatalog.sorted(samples + stats.samples(duration: seconds))
        return Exposition(openMetrics: Array(OpenMetrics.render(samples: all, format: .openMetrics).utf8),
                          prometheus: Array(OpenMetrics.render(samples: all, format: .prometheus).utf8),
                          samples: all.count, seconds: seconds)
    }
}
