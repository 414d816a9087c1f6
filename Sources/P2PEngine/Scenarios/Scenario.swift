import P2PDMA
import PCITopology

/// A scenario script: one engine action per line, `#` comments, `key=value` arguments.
///
/// ```
/// caption  "text shown to the audience"
/// map      NAME kind=host|p2pmem|resource [device=D] [size=1M] [bar=N]      [expect=ok|ERRNO]
/// pin      NAME map=M [pages=N] [offset=PAGES] flags=PIN|PCI_P2PDMA|WRITE|LONGTERM|GET [expect=…]
/// unpin    NAME
/// dmamap   pin=P client=D                                                    [expect=…]
/// transfer from=D|host to=D|host size=64M [via=odirect|rdma|dmabuf|cpu] [block=1M]  [expect=…]
/// export   NAME device=D bar=N size=1M                                        [expect=…]
/// attach   NAME buf=B importer=D                                              [expect=…]
/// revoke   BUF
/// release  BUF
/// unmap    NAME
/// unbind   device=D                                   [expect=done|waiting]
/// finish-unbind device=D                              [expect=done|waiting]
/// acs      device=D set=RR,CR,EC|none                 (setpci on the ACS Control register)
/// verdict  provider=D client=D                        [expect=BUS_ADDR|THRU_HOST_BRIDGE|NOT_SUPPORTED]
/// wait     SECONDS
/// ```
/// Devices are aliases or BDFs of the fabric. A step whose outcome differs from `expect`
/// (default `ok`) is a failure; the run goes on and reports it.
public struct Scenario: Sendable {
    public struct Step: Sendable {
        public var line: Int
        public var action: String
        public var name: String?
        public var args: [String: String]
        public var text: String
    }

    public var name: String
    public var description: String
    /// The story's title for an audience (`@title`); the presenter's opening card shows it.
    public var title: String?
    public var fabric: String?
    public var kernel: String?
    public var steps: [Step]
    /// The file it came from, and the lines of its `@fabric` and `@kernel` headers.
    public var file = ""
    public var fabricLine: Int?
    public var kernelLine: Int?

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var message: String
        public init(file: String, line: Int, message: String) { self.file = file; self.line = line; self.message = message }
        public var description: String { "\(Scenario.shown(file).dropFirst().dropLast()):\(line): \(message)" }
    }

    static let actions: Set<String> = ["caption", "map", "pin", "unpin", "dmamap", "transfer", "export", "attach", "revoke",
                                       "release", "unmap", "unbind", "finish-unbind", "acs", "verdict", "wait"]

    /// Parses the text; `@fabric NAME`, `@kernel X.Y`, `@title …`, `@description …` header lines set defaults.
    public static func parse(_ text: String, name: String, file: String) throws(ParseError) -> Scenario {
        var s = Scenario(name: name, description: "", fabric: nil, kernel: nil, steps: [])
        s.file = file
        // Any line ending: LF, CR LF (one Character in Swift) or CR.
        for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let lineNo = i + 1
            let line = String(raw).trimmingCharacters()
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("@") {
                let parts = line.dropFirst().split(separator: " ", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw ParseError(file: file, line: lineNo, message: "expected '@key value'") }
                switch parts[0] {
                case "fabric": s.fabric = parts[1]; s.fabricLine = lineNo
                case "kernel":
                    guard KernelVersion(parsing: parts[1]) != nil else {
                        throw ParseError(file: file, line: lineNo, message: "@kernel \(shown(parts[1])): expected a version like 6.12")
                    }
                    s.kernel = parts[1]; s.kernelLine = lineNo
                case "description": s.description = parts[1]
                case "title": s.title = parts[1]
                default: throw ParseError(file: file, line: lineNo, message: "unknown header \(shown("@" + parts[0])): expected @fabric, @kernel, @title or @description")
                }
                continue
            }
            let (action, rest) = splitFirst(line)
            guard actions.contains(action) else {
                throw ParseError(file: file, line: lineNo, message: "unknown action \(shown(action)): expected one of \(actions.sorted().joined(separator: ", "))")
            }
            if action == "caption" {
                s.steps.append(Step(line: lineNo, action: action, name: nil, args: [:], text: unquote(rest)))
                continue
            }
            var args: [String: String] = [:]
            var name: String?
            for token in rest.split(separator: " ") where !token.isEmpty {
                if let eq = token.firstIndex(of: "=") {
                    args[String(token[..<eq])] = String(token[token.index(after: eq)...])
                } else if name == nil {
                    name = String(token)
                } else {
                    throw ParseError(file: file, line: lineNo, message: "unexpected \(shown(String(token))): expected key=value")
                }
            }
            s.steps.append(Step(line: lineNo, action: action, name: name, args: args, text: line))
        }
        if s.steps.isEmpty { throw ParseError(file: file, line: 1, message: "no steps: expected actions like 'map', 'pin', 'transfer'") }
        return s
    }

    static func splitFirst(_ s: String) -> (String, String) {
        guard let sp = s.firstIndex(of: " ") else { return (s, "") }
        return (String(s[..<sp]), String(s[s.index(after: sp)...]).trimmingCharacters())
    }

    static func unquote(_ s: String) -> String {
        s.count >= 2 && s.hasPrefix("\"") && s.hasSuffix("\"") ? String(s.dropFirst().dropLast()) : s
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
