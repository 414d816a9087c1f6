/// A source that could not be read: names the file (and line or field) and what was
/// expected. The CLI prints `description` as one line and exits 2.
public struct SourceError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var field: String?
    public var message: String

    public init(file: String, line: Int? = nil, field: String? = nil, _ message: String) {
        self.file = file; self.line = line; self.field = field; self.message = message
    }

    public var description: String {
        var where_ = file
        if let line { where_ += ":\(line)" }
        if let field { where_ += ": field '\(field)'" }
        return "\(where_): \(message)"
    }
}
