/// Access Control Services bits, named as lspci prints them in ACSCap/ACSCtl.
public struct ACSBits: OptionSet, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let sourceValidation = ACSBits(rawValue: 0x01)      // SrcValid  (SV)
    public static let translationBlocking = ACSBits(rawValue: 0x02)   // TransBlk  (TB)
    public static let requestRedirect = ACSBits(rawValue: 0x04)       // ReqRedir  (RR)
    public static let completionRedirect = ACSBits(rawValue: 0x08)    // CmpltRedir (CR)
    public static let upstreamForwarding = ACSBits(rawValue: 0x10)    // UpstreamFwd (UF)
    public static let egressControl = ACSBits(rawValue: 0x20)         // EgressCtrl (EC)
    public static let directTranslatedP2P = ACSBits(rawValue: 0x40)   // DirectTrans (DT)

    /// In lspci's order.
    public static let lspciNames: [(ACSBits, String)] = [
        (.sourceValidation, "SrcValid"), (.translationBlocking, "TransBlk"),
        (.requestRedirect, "ReqRedir"), (.completionRedirect, "CmpltRedir"),
        (.upstreamForwarding, "UpstreamFwd"), (.egressControl, "EgressCtrl"),
        (.directTranslatedP2P, "DirectTrans"),
    ]

    /// Names of the set bits, in lspci's order.
    public var names: [String] { ACSBits.lspciNames.filter { contains($0.0) }.map { $0.1 } }

    /// `SrcValid+ TransBlk- …` exactly as lspci -vv writes the line.
    public var lspciFlags: String {
        ACSBits.lspciNames.map { $0.1 + (contains($0.0) ? "+" : "-") }.joined(separator: " ")
    }

    /// The redirect bits the kernel's P2PDMA walk looks at (RR, CR, EC).
    public static let p2pRedirect: ACSBits = [.requestRedirect, .completionRedirect, .egressControl]
}

public struct ACS: Hashable, Sendable {
    public var offset: Int
    public var capability: ACSBits
    public var control: ACSBits
}
