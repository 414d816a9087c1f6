import P2PDMA
import PCITopology

/// `p2ptop doctor`'s answer: the kernel and CPU the rules are for, the machine's host facts
/// where the source knows them, the kernel rules in force, the pair asked about (if any), and
/// every finding that blocks or slows P2P DMA, errors first.
public struct DoctorReport: Sendable {
    public var kernel: KernelVersion
    public var cpu: CPUInfo
    public var host: HostFacts?
    /// The pair asked about, as the user named it, and its verdict.
    public var pair: (names: (String, String), verdict: Verdict)?
    public var rules: [(rule: KernelRule, state: Bool?)]
    public var findings: [Finding]

    /// `pair`: the provider and client as named, with their BDFs; nil for the whole machine.
    public init(_ a: P2PAnalyzer, host: HostFacts?, pair: (names: (String, String), provider: BDF, client: BDF)?) {
        kernel = a.kernel
        cpu = a.cpu
        self.host = host
        let scope = pair.map { a.verdict(provider: $0.provider, client: $0.client) }
        self.pair = pair.flatMap { p in scope.map { (p.names, $0) } }
        rules = KernelRules.applying(to: a.kernel)
        let doctor = Doctor(analyzer: a)
        findings = ((host.map { doctor.hostFindings($0) } ?? []) + doctor.findings(for: scope)).sorted { $0.severity < $1.severity }
    }
}
