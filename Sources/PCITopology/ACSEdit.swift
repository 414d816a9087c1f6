extension Device {
    /// The same function with its ACS Control register set to `control` (what `setpci` would
    /// write); nil if the function has no ACS capability.
    public func withACSControl(_ control: ACSBits) -> Device? {
        guard let acs = acs else { return nil }
        var bytes = config.bytes
        bytes[acs.offset + 6] = UInt8(control.rawValue & 0xff)
        bytes[acs.offset + 7] = UInt8(control.rawValue >> 8)
        return Device(bdf: bdf, config: ConfigSpace(bytes), sysfs: sysfs)
    }
}

extension Topology {
    /// The topology with one device replaced (same address).
    public func replacing(_ device: Device) -> Topology {
        Topology(devices: devices.map { $0.bdf == device.bdf ? device : $0 }, host: host, source: source)
    }
}
