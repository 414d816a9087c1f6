import LinuxFiles
import P2PEngine

/// The machine's clock for the engine: for a live demo that paces a modelled transfer at the
/// fabric's rate, and for measuring the engine's own cost (`--unthrottled`, `bench engine`).
public struct WallClock: EngineClock {
    public init() {}
    public func now() -> Double { Monotonic.seconds() }
    public func wait(until deadline: Double) { Monotonic.sleep(until: deadline) }
    public var measuresWallTime: Bool { true }
}
