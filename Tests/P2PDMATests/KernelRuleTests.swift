import Testing
@testable import P2PDMA
import PCITopology

/// Kernel versions as machines print them, and the version rules keyed to releases.
@Suite struct KernelVersionTests {
    @Test(arguments: [
        // text, series, sublevel, distribution
        ("6.12.95+deb13-amd64", "6.12", 95, KernelVersion.Distribution.debian),
        ("6.12.12+bpo-amd64", "6.12", 12, .debian),
        ("6.1.0-28-amd64", "6.1", nil, .debian),               // bookworm: an ABI number, not 6.1.0
        ("6.8.0-45-generic", "6.8", nil, .ubuntu),
        ("5.14.0-427.el9.x86_64", "5.14", nil, .redHat),
        ("7.2.13", "7.2", 13, .upstream),
        ("6.12", "6.12", nil, .upstream),
        ("6.18.44-fc-v669", "6.18", 44, .unknown),
        ("6.10.0-rc3", "6.10", 0, .upstream),
    ] as [(String, String, Int?, KernelVersion.Distribution)])
    func distributionStrings(_ text: String, _ series: String, _ sublevel: Int?, _ distribution: KernelVersion.Distribution) throws {
        let k = try #require(KernelVersion(parsing: text))
        #expect(k.series.description == series && k.sublevel == sublevel && k.distribution == distribution, "\(text): \(k) \(k.distribution)")
        #expect(k.full == text)
    }

    @Test func refusesWhatIsNoVersion() {
        for bad in ["six", "6", "", ".6.1", "0.1", "100.1", "6.1000", "-6.1", String(repeating: "6", count: 300)] {
            #expect(KernelVersion(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func ordersBySublevelWithinASeries() {
        #expect(KernelVersion(6, 12, 94) < KernelVersion(6, 12, 95) && KernelVersion(6, 12, 95) < KernelVersion(6, 13))
        #expect(KernelVersion(6, 12) < KernelVersion(6, 12, 1) && KernelVersion(6, 12, 95) >= KernelVersion(6, 12))
        #expect(KernelVersion(parsing: "6.12.95")!.description == "6.12.95" && KernelVersion(6, 12).description == "6.12")
    }
}

@Suite struct KernelRuleTests {
    let k = { (s: String) in KernelVersion(parsing: s)! }

    /// Every rule names its commit and either the Debian kernels the lab saw it on, or says
    /// it is from reading with the reason.
    @Test func everyRuleNamesItsCommitAndItsEvidence() {
        #expect(KernelRules.all.count >= 15)
        #expect(Set(KernelRules.all.map(\.id)).count == KernelRules.all.count)
        for r in KernelRules.all {
            #expect(!r.commit.isEmpty && !r.summary.isEmpty, "\(r.id)")
            #expect(!r.evidence.isEmpty, "\(r.id)")
            #expect(r.verified.allSatisfy { KernelVersion(parsing: $0)?.sublevel != nil }, "\(r.id): verified on full releases")
            #expect(r.until.map { $0 > r.since } ?? true, "\(r.id)")
        }
        #expect(KernelRules.rootComplexWhitelist.verification == "from reading")
    }

    /// The rules against the lab's three kernels: what each one did there.
    @Test func theLabKernelsSideOfEachRule() {
        let old = k("6.1.176"), lts = k("6.12.95"), new = k("7.2.13")
        #expect(!old.userspaceP2PDMA && lts.userspaceP2PDMA && new.userspaceP2PDMA)
        #expect(!old.directIOPins && lts.directIOPins)
        #expect(!old.nowaitSplitRetry && lts.nowaitSplitRetry)
        #expect(old.refusedP2PReadErrno == "EREMOTEIO" && lts.refusedP2PReadErrno == "EREMOTEIO" && new.refusedP2PReadErrno == "EINVAL")
        #expect(!lts.p2pmemPageCountOnMap && new.p2pmemPageCountOnMap)
        #expect(!lts.dmabufProviders && new.dmabufProviders)
    }

    /// A bug fixed in mainline and in a stable release of an older series: known from the
    /// sublevel where there is one, unknown from a bare series or a distribution that backports.
    @Test func aStableFixIsKeyedToItsStableRelease() {
        let rule = KernelRules.configACSMultiPort
        #expect(rule.state(on: k("6.10.14")) == false)       // before the bug
        #expect(rule.state(on: k("6.11.11")) == true)        // 6.11.y: no fix taken
        #expect(rule.state(on: k("6.12.94")) == true)
        #expect(rule.state(on: k("6.12.95")) == false)
        #expect(rule.state(on: k("6.12.95+deb13-amd64")) == false)
        #expect(rule.state(on: KernelVersion(6, 12)) == nil)
        #expect(rule.state(on: k("6.15.1")) == false)
        #expect(k("6.11.11").multiPortACSParameters == false && k("6.12.95").multiPortACSParameters == true)
        #expect(k("6.8.0-45-generic").multiPortACSParameters == true && KernelVersion(6, 12).multiPortACSParameters == nil)
        #expect(KernelRules.applying(to: k("6.12.95")).contains { $0.rule.id == "config-acs-multi-port" } == false)
        #expect(KernelRules.applying(to: KernelVersion(6, 12)).first { $0.rule.id == "config-acs-multi-port" }?.state == nil)
    }

    /// Two ports on a kernel whose parser takes one: one on the command line, the others by
    /// setpci (RR, CR and EC off), and where the release cannot say, the warning.
    @Test func multiPortRemediesOnEveryKernel() throws {
        let ports = [BDF("0000:00:01.0")!, BDF("0000:00:1c.0")!]
        let broken = try #require(Remedies.acsRedirectOff(ports, kernel: k("6.11.11")))
        #expect(broken.contains("pci=disable_acs_redir=0000:00:01.0 ") && broken.contains("setpci -s 0000:00:1c.0 ECAP0d+6.w=0000:002c"))
        #expect(!broken.contains("config_acs=0x00xx@0000:00:01.0;"))
        let fixed = try #require(Remedies.acsRedirectOff(ports, kernel: k("6.12.95")))
        #expect(fixed.contains("pci=disable_acs_redir=0000:00:01.0;0000:00:1c.0") && fixed.contains("pci=config_acs=0x00xx@0000:00:01.0;0x00xx@0000:00:1c.0"))
        #expect(!fixed.contains("setpci") && !fixed.contains("only the first port"))
        let unsure = try #require(Remedies.acsRedirectOff(ports, kernel: KernelVersion(6, 13)))
        #expect(unsure.contains("only the first port takes it"))
        let one = try #require(Remedies.acsRedirectOff([ports[0]], kernel: k("6.11.11")))
        #expect(one.hasPrefix("boot with pci=disable_acs_redir=0000:00:01.0 or, per port") && !one.contains("setpci"))
    }
}

/// ACS Control after boot (`pci_enable_acs`), as read in 6.1.176, 6.12.95 and 7.2.13.
@Suite struct ACSBootTests {
    let port = BDF("0000:00:12.0")!, other = BDF("0000:00:10.0")!
    // QEMU's pcie-root-port: SV, TB, RR, CR, UF.
    let cap: ACSBits = [.sourceValidation, .translationBlocking, .requestRedirect, .completionRedirect, .upstreamForwarding]
    let k = { (s: String) in KernelVersion(parsing: s)! }

    func ctrl(_ cmdline: [String], _ kernel: String, iommu: Bool = true, at p: BDF? = nil) -> ACSBits? {
        let kv = k(kernel)
        return ACSBoot.control(port: p ?? port, capability: cap, iommuRequestsACS: iommu, parameters: .init(cmdline: cmdline, kernel: kv), kernel: kv)
    }

    @Test func theIOMMUsDefaultsAndNothingWithoutIt() {
        #expect(ctrl([], "6.12.95") == [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding])
        #expect(ctrl([], "6.12.95", iommu: false) == [])
    }

    /// 6.1 clears RR, CR and EC from what the kernel wrote (SV and UF stay); from 6.11 the
    /// named port's value comes from the firmware's (all of it gone on QEMU's ports).
    @Test func disableACSRedirBeforeAndAfter611() {
        let both = ["pci=disable_acs_redir=0000:00:10.0;0000:00:12.0"]
        #expect(ctrl(both, "6.1.176") == [.sourceValidation, .upstreamForwarding])
        #expect(ctrl(both, "6.12.95") == [] && ctrl(both, "7.2.13") == [])
        #expect(ctrl(both, "6.12.95", at: other) == [])
        #expect(ctrl(["pci=disable_acs_redir=0000:00:10.0"], "6.12.95") == [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding])
        #expect(ctrl(["pci=disable_acs_redir=00:12.0"], "6.1.176") == [.sourceValidation, .upstreamForwarding])   // no domain: 0000
        #expect(ctrl(["pci=disable_acs_redir=pci:1b36:000c"], "6.12.95") == nil)   // an ID form: not modelled
    }

    /// config_acs: per port, '0'/'1' from bit 0 at the right; 'x' takes the firmware's bit.
    /// 6.1 does not know the option: the kernel's defaults stay.
    @Test func configACSPerPort() {
        let line = ["pci=config_acs=0x00xx@0000:00:10.0;0x00x1@0000:00:12.0"]
        #expect(ctrl(line, "6.12.95") == [.sourceValidation])
        #expect(ctrl(line, "6.12.95", at: other) == [])
        #expect(ctrl(line, "6.1.176") == [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding])
        #expect(ACSBoot.Parameters(cmdline: line, kernel: k("6.1.176")).ignored == ["config_acs=0x00xx@0000:00:10.0;0x00x1@0000:00:12.0"])
        #expect(ctrl(["pci=config_acs=2x@0000:00:12.0"], "6.12.95") == [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding])
        // Several pci= options are split at commas, as pci_setup does.
        #expect(ctrl(["pci=noaer,disable_acs_redir=0000:00:12.0"], "6.12.95") == [])
    }
}
