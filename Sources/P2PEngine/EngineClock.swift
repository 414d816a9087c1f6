import Synchronization

/// Where the engine's time comes from. The model never reads the machine's clock itself: a
/// modelled transfer runs on the model's clock (the time its bytes take on the fabric, computed,
/// never slept), and only the edge that paces a live demo hands it the wall clock
/// (`RealBackends.WallClock`).
public protocol EngineClock: Sendable {
    /// Seconds on this clock.
    func now() -> Double
    /// Returns once `now()` has reached `deadline`: the wall clock sleeps, the model's clock
    /// moves on to it.
    func wait(until deadline: Double)
    /// True when `now()` is the machine's time, so that the engine's own cost can be measured
    /// with it; the model's clock only knows the time it was told.
    var measuresWallTime: Bool { get }
}

/// The model's clock: it stands still until the model says how long something takes.
public final class ModelClock: EngineClock {
    private let t = Mutex(0.0)

    public init() {}

    public func now() -> Double { t.withLock { $0 } }
    public func wait(until deadline: Double) { t.withLock { if deadline > $0 { $0 = deadline } } }
    public var measuresWallTime: Bool { false }
}
