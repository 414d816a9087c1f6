/// A fixed-size ring of (time, value) samples of one counter, with rates that survive
/// counter resets and wraps (a drop means "restarted": no rate for that interval).
public struct Series: Sendable {
    public private(set) var times: [Double] = []
    public private(set) var values: [Double] = []
    public let capacity: Int
    public private(set) var stale = false

    public init(capacity: Int = 600) { self.capacity = capacity }

    public mutating func append(time: Double, value: Double) {
        times.append(time); values.append(value)
        if times.count > capacity { times.removeFirst(times.count - capacity); values.removeFirst(values.count - capacity) }
        stale = false
    }

    public mutating func markStale() { stale = true }

    public var last: Double? { values.last }

    /// Per-second rate over the last interval; nil with fewer than two samples or after a reset.
    public var rate: Double? {
        guard values.count >= 2 else { return nil }
        let dv = values[values.count - 1] - values[values.count - 2]
        let dt = times[times.count - 1] - times[times.count - 2]
        guard dt > 0, dv >= 0 else { return nil }
        return dv / dt
    }

    /// Rates between consecutive samples (resets give 0), for charts.
    public var rates: [Double] {
        guard values.count >= 2 else { return [] }
        return (1..<values.count).map { i in
            let dv = values[i] - values[i - 1], dt = times[i] - times[i - 1]
            return dt > 0 && dv >= 0 ? dv / dt : 0
        }
    }
}

/// All samplers and their series; `tick()` reads every sampler once.
public final class Telemetry {
    public let samplers: [any Sampler]
    public private(set) var series: [String: Series] = [:]
    public private(set) var stale: [String: String] = [:]
    public private(set) var lastReadings: [String: Reading] = [:]

    public init(samplers: [any Sampler]) { self.samplers = samplers }

    /// The standard set for a root directory (`/` live).
    public static func standard(root: String) -> Telemetry {
        Telemetry(samplers: [VMStatSampler(root: root), ProcessPinSampler(root: root), P2PMemSampler(root: root),
                             RDMAPortSampler(root: root), BlockStatSampler(root: root), PCIHealthSampler(root: root)])
    }

    public func tick(time: Double) {
        for s in samplers {
            let r = s.sample()
            lastReadings[s.name] = r
            if let why = r.stale {
                stale[s.name] = why
                for key in series.keys where key.hasPrefix(s.name + ".") { series[key]!.markStale() }
                continue
            }
            stale[s.name] = nil
            for (k, v) in r.values { series["\(s.name).\(k)", default: Series()].append(time: time, value: v) }
        }
    }
}
