import PCISources
import PCITopology

/// `p2ptop.topology/1`: the device list every script reads (`list --json`, `show --json`).
enum TopologyJSON {
    static let schema = "p2ptop.topology/1"

    static func document(_ t: Topology, devices: [Device], names: NameDatabase?) -> JSON {
        .object([
            ("schema", .string(schema)),
            ("devices", .array(devices.map { device($0, in: t, names: names) })),
        ])
    }

    static func hex4(_ v: UInt16) -> JSON { .string(hex(v, width: 4)) }
    static func addr(_ v: UInt64) -> JSON { .string("0x" + String(v, radix: 16)) }

    static func device(_ d: Device, in t: Topology, names: NameDatabase?) -> JSON {
        var pairs: [(String, JSON)] = [
            ("bdf", .string(d.bdf.description)),
            ("vendor_id", hex4(d.vendorID)),
            ("device_id", hex4(d.deviceID)),
            ("class", hex4(d.classCode)),
            ("prog_if", .string(hex(d.progIf, width: 2))),
            ("revision", .string(hex(d.revision, width: 2))),
            ("subsystem_vendor_id", d.subsystemVendorID.map(hex4) ?? .null),
            ("subsystem_id", d.subsystemID.map(hex4) ?? .null),
            ("header_type", .int(Int64(d.headerType))),
            ("multifunction", .bool(d.isMultiFunction)),
            ("parent", t.parent(d.bdf).map { .string($0.description) } ?? .null),
            ("alias", t.alias(d.bdf).map(JSON.string) ?? .null),
            ("kind", .string(t.kind(d.bdf).rawValue)),
        ]
        if let names {
            pairs.append(("name", .string(names.vendorDevice(d))))
            pairs.append(("class_name", .string(names.className(d))))
        }
        let caps = d.capabilities
        pairs.append(("bars", .array(d.bars.map(bar))))
        pairs.append(("bridge", d.bridge.map(bridge) ?? .null))
        pairs.append(("config_bytes", .int(Int64(d.config.count))))
        pairs.append(("capabilities", capabilities(caps, source: t.source)))
        pairs.append(("port_type", d.express.map { JSON.string($0.portType.key) } ?? .null))
        let known = t.link(of: d)
        pairs.append(("link", known.map { link($0.link, judgement: t.linkJudgement(d.bdf)) } ?? .null))
        pairs.append(("link_source", known.map { .string($0.source) } ?? .null))
        pairs.append(("acs", d.acs.map(acs) ?? .null))
        pairs.append(("resizable_bars", .array(caps.resizableBARs.map(rebar))))
        pairs.append(("sriov", caps.sriov.map(sriov) ?? .null))
        let facts: JSON = d.sysfs.map { Snapshot.encodeSysfs($0) } ?? .null
        pairs.append(("sysfs", facts))
        return .object(pairs)
    }

    static func bar(_ b: BAR) -> JSON {
        .object([
            ("index", .int(Int64(b.index))),
            ("type", .string(b.space.rawValue)),
            ("address", b.address.map(addr) ?? .null),
            ("size", b.size.map { .uint($0) } ?? .null),
            ("is_64bit", .bool(b.is64Bit)),
            ("prefetchable", .bool(b.prefetchable)),
            ("disabled", .bool(b.disabled)),
            ("virtual", .bool(b.isVirtual)),
            ("upper_half_of", b.upperHalfOf.map { .int(Int64($0)) } ?? .null),
        ])
    }

    static func bridge(_ b: BridgeInfo) -> JSON {
        .object([
            ("primary", .int(Int64(b.primary))),
            ("secondary", .int(Int64(b.secondary))),
            ("subordinate", .int(Int64(b.subordinate))),
            ("windows", .array(b.windows.map { w in
                .object([("kind", .string(w.kind.rawValue)), ("base", addr(w.base)), ("limit", addr(w.limit)),
                         ("enabled", .bool(w.isEnabled)), ("is_64bit", .bool(w.is64Bit))])
            })),
        ])
    }

    static func linkState(_ s: LinkState) -> JSON {
        .object([("speed_gts", s.speed.gts.map(JSON.double) ?? .null), ("width", .int(Int64(s.width)))])
    }

    /// `downgraded`: lspci's (against the function's own LnkCap); `downtrained`: against what
    /// both ends can do (`both_ends_cap`, when the port above has a link).
    static func link(_ l: Link, judgement: LinkJudgement? = nil) -> JSON {
        .object([
            ("cap", linkState(l.capability)),
            ("status", l.status.map(linkState) ?? .null),
            ("downgraded", .bool(l.isDowngraded)),
            ("downtrained", judgement.map { .bool($0.isDowntrained) } ?? .null),
            ("both_ends_cap", judgement.flatMap { $0.partner == nil ? nil : linkState($0.capability) } ?? .null),
            ("port", .int(Int64(l.portNumber))),
            ("supported_speeds_gts", l.supportedSpeeds.map { .array($0.compactMap { $0.gts.map(JSON.double) }) } ?? .null),
        ])
    }

    static func acs(_ a: ACS) -> JSON {
        .object([("cap", .array(a.capability.names.map(JSON.string))), ("ctl", .array(a.control.names.map(JSON.string)))])
    }

    static func capabilities(_ c: Capabilities, source: SourceInfo) -> JSON {
        var pairs: [(String, JSON)] = [("coverage", .string(c.coverage.rawValue))]
        if c.coverage == .unreadable {
            pairs.append(("note", .string("unknown (\(source.configUnreadable)): config space past 64 bytes")))
        } else if c.coverage == .standardOnly {
            pairs.append(("note", .string("extended capabilities unknown: the source holds only 256 bytes of config space")))
        }
        // lspci's names, with the ID and offset lspci shows beside them (`Capabilities: [40] Express`).
        func entry(_ e: Capabilities.Entry, _ name: String, _ idWidth: Int) -> JSON {
            .object([("name", .string(name)), ("id", .string("0x" + hex(e.id, width: idWidth))), ("offset", .string("0x" + hex(e.offset, width: 2)))])
        }
        pairs.append(("standard", .array(c.standard.map { entry($0, CapabilityNames.standard($0.id), 2) })))
        pairs.append(("extended", .array(c.extended.map { entry($0, CapabilityNames.extended($0.id), 4) })))
        for (key, id) in [("aer", ExtendedCapabilityID.aer), ("ats", .ats), ("pri", .pri), ("pasid", .pasid), ("dpc", .dpc)] {
            pairs.append((key, c.extendedKnown ? .bool(c.hasExtended(id)) : .null))
        }
        if !c.anomalies.isEmpty { pairs.append(("anomalies", .array(c.anomalies.map(JSON.string)))) }
        return .object(pairs)
    }

    static func rebar(_ r: ResizableBAR) -> JSON {
        .object([("bar", .int(Int64(r.barIndex))), ("vf", .bool(r.isVF)),
                 ("supported_sizes", .array(r.supportedSizes.map { .uint($0) })), ("current_size", .uint(r.currentSize))])
    }

    static func sriov(_ s: SRIOV) -> JSON {
        .object([("initial_vfs", .int(Int64(s.initialVFs))), ("total_vfs", .int(Int64(s.totalVFs))),
                 ("num_vfs", .int(Int64(s.numVFs))), ("enabled", .bool(s.enabled)),
                 ("first_vf_offset", .int(Int64(s.firstVFOffset))), ("vf_stride", .int(Int64(s.vfStride))),
                 ("vf_device_id", hex4(s.vfDeviceID)), ("vf_bars", .array(s.vfBARs.map(bar)))])
    }
}
