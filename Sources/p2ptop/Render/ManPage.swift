import PCISources

/// `p2ptop(1)` in man(7) markup, written from the command definitions themselves (the JSON
/// swift-argument-parser prints for `--experimental-dump-help`): every command, its abstract,
/// discussion and examples, and every option with its value and default.
enum ManPage {
    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "\\": out += "\\e"
            case "-": out += "\\-"
            default:
                if ch.isASCII { out.append(ch); continue }
                // Non-ASCII as groff's Unicode glyph escapes (\[u2192] for →).
                for u in ch.unicodeScalars {
                    let h = String(u.value, radix: 16, uppercase: true)
                    out += "\\[u" + String(repeating: "0", count: max(0, 4 - h.count)) + h + "]"
                }
            }
        }
        // A line starting with . or ' would be a request.
        return out.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") || $0.hasPrefix("'") ? "\\&" + $0 : String($0) }.joined(separator: "\n")
    }

    static func render(_ help: JSON, date: String) -> String {
        guard let root = help["command"] else { return "" }
        var out = ".TH P2PTOP 1 \"\(date)\" \"p2ptop\" \"User Commands\"\n"
        out += ".SH NAME\np2ptop \\- \(escape(root["abstract"]?.stringValue ?? ""))\n"
        out += ".SH SYNOPSIS\n.B p2ptop\n[\\fIcommand\\fR] [\\fIoptions\\fR]\n"
        out += ".SH DESCRIPTION\n" + paragraph(root["discussion"]?.stringValue ?? "")
        out += ".SH COMMANDS\n"
        for sub in root["subcommands"]?.arrayValue ?? [] { out += command(sub, parents: ["p2ptop"]) }
        out += """
            .SH EXIT STATUS
            0 success; 1 an operation the kernel would refuse (a transfer, a failed scenario, a lab \
            disagreement); 2 a usage or input error (the message names the file, line or field).
            .SH ENVIRONMENT
            .TP
            .B NO_COLOR
            Set and non\\-empty: no colour.
            .TP
            .B COLUMNS
            The width text is fitted to when standard output is not a terminal; unset, nothing is wrapped or cut in a pipe or a file.
            .SH SEE ALSO
            .BR lspci (8),
            .BR lstopo (1),
            .BR nvidia\\-smi (1)

            """
        return out
    }

    /// Plain text with indented example lines kept as they are (no filling).
    static func paragraph(_ text: String) -> String {
        var out = ""
        var literal = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let isExample = line.hasPrefix("  ")
            if isExample && !literal { out += ".nf\n"; literal = true }
            if !isExample && literal { out += ".fi\n"; literal = false }
            if line.isEmpty { out += ".PP\n" } else { out += escape(String(line)) + "\n" }
        }
        if literal { out += ".fi\n" }
        return out
    }

    static func command(_ c: JSON, parents: [String]) -> String {
        guard c["shouldDisplay"]?.boolValue ?? true, let name = c["commandName"]?.stringValue, name != "help" else { return "" }
        let path = parents + [name]
        var out = ".SS \"\(escape(path.joined(separator: " ")))\"\n" + escape(c["abstract"]?.stringValue ?? "") + "\n"
        if let d = c["discussion"]?.stringValue, !d.isEmpty { out += ".PP\n" + paragraph(d) }
        for a in c["arguments"]?.arrayValue ?? [] where a["shouldDisplay"]?.boolValue ?? true {
            let names = (a["names"]?.arrayValue ?? []).compactMap { n -> String? in
                guard let v = n["name"]?.stringValue else { return nil }
                return n["kind"]?.stringValue == "short" ? "-" + v : "--" + v
            }
            guard names != ["-h", "--help"], names != ["--version"] else { continue }
            let value = a["valueName"]?.stringValue
            var head = names.isEmpty ? "\\fI\(escape(value ?? "value"))\\fR"
                : names.map { "\\fB\(escape($0))\\fR" }.joined(separator: ", ")
            if !names.isEmpty, a["kind"]?.stringValue == "option", let value { head += " \\fI\(escape(value))\\fR" }
            var text = a["abstract"]?.stringValue ?? ""
            if let d = a["defaultValue"]?.stringValue, !d.isEmpty, a["kind"]?.stringValue != "flag" { text += " (default: \(d))" }
            out += ".TP\n\(head)\n\(escape(text))\n"
        }
        for sub in c["subcommands"]?.arrayValue ?? [] { out += command(sub, parents: path) }
        return out
    }
}
