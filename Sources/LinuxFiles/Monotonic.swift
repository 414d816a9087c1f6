#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The machine's one monotonic clock (`CLOCK_MONOTONIC`): what every measurement, timeout and
/// pacing loop outside the model reads. The model's own time is `P2PEngine.ModelClock`.
public enum Monotonic {
    /// Seconds since an arbitrary start (boot), never going back.
    public static func seconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Sleeps until `seconds()` reaches `deadline` (returns at once for one already past, and
    /// early when a signal arrives, so that a loop can look at its stop flag).
    public static func sleep(until deadline: Double) {
        let wait = deadline - seconds()
        guard wait > 0 else { return }
        var ts = timespec(tv_sec: Int(wait), tv_nsec: Int((wait - Double(Int(wait))) * 1e9))
        _ = nanosleep(&ts, nil)
    }

    /// The seconds `body` takes.
    public static func time(_ body: () throws -> Void) rethrows -> Double {
        let t0 = seconds()
        try body()
        return seconds() - t0
    }
}
