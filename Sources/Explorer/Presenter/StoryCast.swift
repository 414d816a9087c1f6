import P2PEngine
import PCITopology

/// Who a story is about: the functions its steps name (and the bridges between them, for the
/// stage's picture of the machine), and for each step the pair in play — the memory's owner
/// (provider) and the device doing the DMA (client) — or the one device it acts on.
struct StoryCast {
    /// The functions the steps name, resolved on the story's machine.
    var devices: [BDF] = []
    /// Per step (index into `scenario.steps`): the provider and the client, either may be nil.
    var pairs: [Int: (provider: BDF?, client: BDF?)] = [:]

    init(_ scenario: Scenario, on topology: Topology) {
        func bdf(_ name: String?) -> BDF? { name.flatMap { try? topology.resolve($0).bdf } }
        var mapDevice: [String: BDF] = [:], pinMap: [String: String] = [:], bufDevice: [String: BDF] = [:]
        var seen = Set<BDF>()
        func note(_ b: BDF?) { if let b, seen.insert(b).inserted { devices.append(b) } }
        for (i, s) in scenario.steps.enumerated() {
            let a = s.args
            let name = s.name
            var provider: BDF?, client: BDF?
            switch s.action {
            case "map":
                provider = bdf(a["device"])
                if let name, let p = provider { mapDevice[name] = p }
            case "pin":
                if let name, let m = a["map"] { pinMap[name] = m }
                provider = a["map"].flatMap { mapDevice[$0] }
            case "dmamap":
                provider = a["pin"].flatMap { pinMap[$0] }.flatMap { mapDevice[$0] }
                client = bdf(a["client"])
            case "transfer":
                provider = bdf(a["to"]); client = bdf(a["from"])
            case "verdict":
                provider = bdf(a["provider"]); client = bdf(a["client"])
            case "export":
                provider = bdf(a["device"])
                if let name, let p = provider { bufDevice[name] = p }
            case "attach":
                provider = a["buf"].flatMap { bufDevice[$0] }; client = bdf(a["importer"])
            case "revoke", "release":
                provider = name.flatMap { bufDevice[$0] }
            default:
                provider = bdf(a["device"])
            }
            note(provider); note(client)
            if provider != nil || client != nil { pairs[i] = (provider, client) }
        }
    }
}
