/// lspci's `-s [[domain:]bus:][device][.func]` filter. Empty or `*` parts match anything.
public struct SlotFilter: Hashable, Sendable {
    public var domain: UInt32?
    public var bus: UInt8?
    public var device: UInt8?
    public var function: UInt8?

    public init(parsing text: String) throws(SelectorError) {
        var rest = Substring(text)
        if let colon = rest.lastIndex(of: ":") {
            let head = rest[..<colon]
            rest = rest[rest.index(after: colon)...]
            if let c2 = head.lastIndex(of: ":") {
                domain = try SlotFilter.field(head[..<c2], max: 0xffff_ffff, "domain", text)
                bus = try SlotFilter.field(head[head.index(after: c2)...], max: 0xff, "bus", text).map { UInt8($0) }
            } else {
                bus = try SlotFilter.field(head, max: 0xff, "bus", text).map { UInt8($0) }
            }
        }
        if let dot = rest.firstIndex(of: ".") {
            device = try SlotFilter.field(rest[..<dot], max: 0x1f, "device", text).map { UInt8($0) }
            function = try SlotFilter.field(rest[rest.index(after: dot)...], max: 7, "function", text).map { UInt8($0) }
        } else {
            device = try SlotFilter.field(rest, max: 0x1f, "device", text).map { UInt8($0) }
        }
    }

    static func field(_ s: Substring, max: UInt32, _ name: String, _ whole: String) throws(SelectorError) -> UInt32? {
        if s.isEmpty || s == "*" { return nil }
        guard let v = UInt32(s, radix: 16), v <= max else {
            throw SelectorError(message: "invalid \(name) '\(s)' in slot selector '\(whole)': expected hex 0-\(String(max, radix: 16)) or *")
        }
        return v
    }

    public func matches(_ bdf: BDF) -> Bool {
        (domain.map { $0 == bdf.domain } ?? true) && (bus.map { $0 == bdf.bus } ?? true)
            && (device.map { $0 == bdf.device } ?? true) && (function.map { $0 == bdf.function } ?? true)
    }
}

/// lspci's `-d [vendor]:[device][:class[:prog-if]]` filter.
public struct IDFilter: Hashable, Sendable {
    public var vendor: UInt16?
    public var device: UInt16?
    public var classCode: UInt16?
    public var progIf: UInt8?

    public init(parsing text: String) throws(SelectorError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2 && parts.count <= 4 else {
            throw SelectorError(message: "invalid ID selector '\(text)': expected [vendor]:[device][:class[:prog-if]]")
        }
        vendor = try SlotFilter.field(parts[0], max: 0xffff, "vendor", text).map { UInt16($0) }
        device = try SlotFilter.field(parts[1], max: 0xffff, "device", text).map { UInt16($0) }
        if parts.count > 2 { classCode = try SlotFilter.field(parts[2], max: 0xffff, "class", text).map { UInt16($0) } }
        if parts.count > 3 { progIf = try SlotFilter.field(parts[3], max: 0xff, "prog-if", text).map { UInt8($0) } }
    }

    public func matches(_ d: Device) -> Bool {
        (vendor.map { $0 == d.vendorID } ?? true) && (device.map { $0 == d.deviceID } ?? true)
            && (classCode.map { $0 == d.classCode } ?? true) && (progIf.map { $0 == d.progIf } ?? true)
    }
}

public struct SelectorError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

extension Topology {
    public func select(slot: SlotFilter? = nil, id: IDFilter? = nil) -> [Device] {
        devices.filter { (slot?.matches($0.bdf) ?? true) && (id?.matches($0) ?? true) }
    }

    /// Resolves what a user typed where one device is expected: an alias (`gpu0`), a BDF
    /// with or without domain, or any `-s` slot selector that matches exactly one function.
    public func resolve(_ text: String) throws(SelectorError) -> Device {
        let lowered = text.lowercased()
        if let (bdf, _) = aliases.first(where: { $0.value == lowered }), let d = device(bdf) { return d }
        if let bdf = BDF(lowered) {
            if let d = device(bdf) { return d }
            if lowered.split(separator: ":").count == 2 {  // no domain typed: any domain
                let matches = devices.filter { $0.bdf.bus == bdf.bus && $0.bdf.device == bdf.device && $0.bdf.function == bdf.function }
                if matches.count == 1 { return matches[0] }
            }
        }
        let filter: SlotFilter
        do { filter = try SlotFilter(parsing: lowered) } catch {
            throw SelectorError(message: "no device '\(text)': expected an alias (\(aliasExamples)), a BDF like 0000:00:1c.0, or a slot selector")
        }
        let matches = select(slot: filter)
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty {
            throw SelectorError(message: "no device matches '\(text)'; aliases here: \(aliasExamples)")
        }
        let shown = matches.prefix(6).map { $0.bdf.description }.joined(separator: ", ")
        throw SelectorError(message: "'\(text)' matches \(matches.count) devices (\(shown)\(matches.count > 6 ? ", …" : "")); name one")
    }

    var aliasExamples: String {
        let names = devices.compactMap { aliases[$0.bdf] }
        return names.isEmpty ? "none" : names.prefix(8).joined(separator: ", ") + (names.count > 8 ? ", …" : "")
    }
}
