import Synchronization

/// Transfers running at the same time share the fabric: each joins with the links it crosses,
/// and every join or leave recomputes everyone's max-min fair rate (`FabricModel.fairRates`).
/// Thread-safe: each transfer runs on its own thread and asks for its rate as it paces itself.
public final class FabricArbiter: Sendable {
    struct State {
        var flows: [Int: [FabricModel.LinkKey]] = [:]
        var capacity: [FabricModel.LinkKey: Double] = [:]
        var rates: [Int: Double] = [:]
        var next = 0
    }
    private let state = Mutex(State())

    public init() {}

    /// Adds a flow over these links (capacities in bytes per second); its id.
    public func join(_ links: [(FabricModel.LinkKey, Double)]) -> Int {
        state.withLock { s in
            let id = s.next
            s.next += 1
            s.flows[id] = links.map(\.0)
            for (k, c) in links { s.capacity[k] = c }
            Self.recompute(&s)
            return id
        }
    }

    public func leave(_ id: Int) {
        state.withLock { s in
            s.flows[id] = nil
            Self.recompute(&s)
        }
    }

    /// The flow's current fair rate in bytes per second (infinity for a flow over no link).
    public func rate(_ id: Int) -> Double? { state.withLock { $0.rates[id] } }

    public var activeFlows: Int { state.withLock { $0.flows.count } }

    static func recompute(_ s: inout State) {
        let ids = s.flows.keys.sorted()
        let used = Set(ids.flatMap { s.flows[$0]! })
        let rates = FabricModel.fairRates(ids.map { s.flows[$0]! }, capacity: s.capacity.filter { used.contains($0.key) })
        s.rates = Dictionary(uniqueKeysWithValues: zip(ids, rates))
    }
}
