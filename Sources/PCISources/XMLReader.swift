/// A small XML reader for hwloc's topology files: elements with attributes, nesting and line
/// numbers; text, comments, processing instructions and the DOCTYPE are skipped. Errors name the
/// line. No Foundation (FoundationXML would pull in libxml2).
struct XMLElement {
    var name: String
    var attributes: [String: String]
    var children: [XMLElement]
    var line: Int
    /// Text directly inside the element (hwloc's `<indexes>` and `<u64values>` lists), at most
    /// `XMLReader.maxText` bytes of it.
    var text: String = ""
}

enum XMLReader {
    struct Failure: Error { var line: Int; var message: String }
    static let maxDepth = 256
    static let maxText = 1 << 20

    static func parse(_ bytes: [UInt8]) throws(Failure) -> XMLElement {
        // A file that does not start with markup (after a byte-order mark and blank space) is
        // not XML at all: say so, not where the parser gave up on it ("line 26: no element").
        let start = bytes.starts(with: [0xef, 0xbb, 0xbf]) ? 3 : 0
        let first = bytes[start...].prefix(1 << 16).first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0a && $0 != 0x0d }
        guard first == UInt8(ascii: "<") else {
            throw Failure(line: 1, message: first == nil ? "an empty file, not XML" : "not XML: the file does not start with markup")
        }
        var i = 0, line = 1
        var stack: [XMLElement] = []
        var root: XMLElement?
        func peek(_ s: String) -> Bool {
            var k = i
            for b in s.utf8 {
                guard k < bytes.count, bytes[k] == b else { return false }
                k += 1
            }
            return true
        }
        func skip(past end: String, what: String) throws(Failure) {
            let start = line
            while i < bytes.count && !peek(end) { if bytes[i] == 10 { line += 1 }; i += 1 }
            guard i < bytes.count else { throw Failure(line: start, message: "unterminated \(what)") }
            i += end.utf8.count
        }
        func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 }
        func skipSpace() { while i < bytes.count && isSpace(bytes[i]) { if bytes[i] == 10 { line += 1 }; i += 1 } }
        func name() -> String {
            let s = i
            while i < bytes.count && !isSpace(bytes[i]) && bytes[i] != 62 && bytes[i] != 47 && bytes[i] != 61 { i += 1 }
            return String(decoding: bytes[s..<i], as: UTF8.self)
        }
        while i < bytes.count {
            if bytes[i] != 60 {   // text: kept on the open element (bounded), else ignored
                let s = i
                while i < bytes.count && bytes[i] != 60 { if bytes[i] == 10 { line += 1 }; i += 1 }
                if !stack.isEmpty, stack[stack.count - 1].text.utf8.count + (i - s) <= maxText,
                   bytes[s..<i].contains(where: { !isSpace($0) }) {
                    stack[stack.count - 1].text += unescape(String(decoding: bytes[s..<i], as: UTF8.self))
                }
                continue
            }
            if peek("<?") { try skip(past: "?>", what: "processing instruction"); continue }
            if peek("<!--") { try skip(past: "-->", what: "comment"); continue }
            if peek("<!") { try skip(past: ">", what: "declaration"); continue }
            if peek("</") {
                i += 2
                let n = name()
                skipSpace()
                guard i < bytes.count && bytes[i] == 62 else { throw Failure(line: line, message: "expected '>' to close </\(n)") }
                i += 1
                guard let open = stack.popLast() else { throw Failure(line: line, message: "</\(n)> closes nothing") }
                guard open.name == n else { throw Failure(line: line, message: "</\(n)> closes <\(open.name)> opened on line \(open.line)") }
                if stack.isEmpty { root = open } else { stack[stack.count - 1].children.append(open) }
                continue
            }
            i += 1
            var element = XMLElement(name: name(), attributes: [:], children: [], line: line)
            guard !element.name.isEmpty else { throw Failure(line: line, message: "expected an element name after '<'") }
            while true {
                skipSpace()
                guard i < bytes.count else { throw Failure(line: element.line, message: "unterminated <\(element.name)>") }
                if bytes[i] == 62 {   // >
                    i += 1
                    // hwloc nests a few dozen levels; a deeper file is refused before its tree
                    // could exhaust the stack (walking it, or freeing it).
                    guard stack.count < maxDepth else { throw Failure(line: element.line, message: "elements nested deeper than \(maxDepth) levels") }
                    stack.append(element)
                    break
                }
                if peek("/>") {
                    i += 2
                    if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
                    break
                }
                let key = name()
                skipSpace()
                guard !key.isEmpty, i < bytes.count, bytes[i] == 61 else { throw Failure(line: line, message: "<\(element.name)>: expected name=\"value\"") }
                i += 1
                skipSpace()
                guard i < bytes.count, bytes[i] == 34 || bytes[i] == 39 else { throw Failure(line: line, message: "<\(element.name)> \(key): expected a quoted value") }
                let quote = bytes[i]
                i += 1
                let s = i
                while i < bytes.count && bytes[i] != quote { if bytes[i] == 10 { line += 1 }; i += 1 }
                guard i < bytes.count else { throw Failure(line: element.line, message: "<\(element.name)> \(key): unterminated value") }
                element.attributes[key] = unescape(String(decoding: bytes[s..<i], as: UTF8.self))
                i += 1
            }
            if root != nil && stack.isEmpty { break }
        }
        if let open = stack.last { throw Failure(line: open.line, message: "<\(open.name)> is never closed") }
        guard let root else { throw Failure(line: line, message: "no element found") }
        return root
    }

    /// `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` and numeric references.
    static func unescape(_ s: String) -> String {
        guard s.contains("&") else { return s }
        var out = ""
        var rest = Substring(s)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else { out += rest[amp...]; return out }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                if entity.hasPrefix("#x"), let v = UInt32(entity.dropFirst(2), radix: 16), let u = Unicode.Scalar(v) { out.unicodeScalars.append(u) }
                else if entity.hasPrefix("#"), let v = UInt32(entity.dropFirst()), let u = Unicode.Scalar(v) { out.unicodeScalars.append(u) }
                else { out += rest[amp...semi] }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }
}
