#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// NVIDIA's management library, loaded at run time (`dlopen("libnvidia-ml.so.1")`, never
/// linked: p2ptop builds and runs where there is no NVIDIA driver). Per GPU: PCIe RX/TX
/// throughput (`nvmlDeviceGetPcieThroughput`, KB/s over NVML's 20 ms window) and BAR1 use
/// (`nvmlDeviceGetBAR1MemoryInfo`). Where the library or a GPU is missing, `unavailable` says
/// why, once; a counter NVML refuses is nil, never 0.
public final class NVML: GPUCounterSource {
    public private(set) var unavailable: String?
    private var handle: UnsafeMutableRawPointer?
    private var devices: [(busID: String, name: String?, device: OpaquePointer)] = []

    // The C signatures used (nvml.h): every call returns nvmlReturn_t, 0 = NVML_SUCCESS.
    private typealias Init = @convention(c) () -> Int32
    private typealias Count = @convention(c) (UnsafeMutablePointer<UInt32>) -> Int32
    private typealias ByIndex = @convention(c) (UInt32, UnsafeMutablePointer<OpaquePointer?>) -> Int32
    private typealias PciInfo = @convention(c) (OpaquePointer, UnsafeMutableRawPointer) -> Int32
    private typealias Name = @convention(c) (OpaquePointer, UnsafeMutablePointer<CChar>, UInt32) -> Int32
    private typealias Throughput = @convention(c) (OpaquePointer, UInt32, UnsafeMutablePointer<UInt32>) -> Int32
    private typealias BAR1 = @convention(c) (OpaquePointer, UnsafeMutablePointer<UInt64>) -> Int32
    private typealias Shutdown = @convention(c) () -> Int32

    private var throughput: Throughput?
    private var bar1: BAR1?

    /// `library`: the file to load (tests point it at a stand-in); NVIDIA's soname by default.
    public init(library: String = "libnvidia-ml.so.1") {
        guard let h = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            unavailable = "NVML not loaded (\(library): no NVIDIA driver here)"
            return
        }
        handle = h
        func symbol<T>(_ name: String, _: T.Type) -> T? { dlsym(h, name).map { unsafeBitCast($0, to: T.self) } }
        guard let initialise = symbol("nvmlInit_v2", Init.self), let count = symbol("nvmlDeviceGetCount_v2", Count.self),
              let byIndex = symbol("nvmlDeviceGetHandleByIndex_v2", ByIndex.self), let pci = symbol("nvmlDeviceGetPciInfo_v3", PciInfo.self) else {
            unavailable = "NVML (\(library)) lacks nvmlInit_v2/nvmlDeviceGetPciInfo_v3: too old"
            return
        }
        let rc = initialise()
        guard rc == 0 else { unavailable = "nvmlInit_v2 failed (NVML error \(rc))"; return }
        throughput = symbol("nvmlDeviceGetPcieThroughput", Throughput.self)
        bar1 = symbol("nvmlDeviceGetBAR1MemoryInfo", BAR1.self)
        let name = symbol("nvmlDeviceGetName", Name.self)
        var n: UInt32 = 0
        guard count(&n) == 0, n > 0 else { unavailable = "NVML sees no GPU"; return }
        for i in 0..<min(n, 64) {
            var dev: OpaquePointer?
            guard byIndex(i, &dev) == 0, let dev else { continue }
            // nvmlPciInfo_t: busIdLegacy[16], domain, bus, device, pciDeviceId, pciSubSystemId
            // (unsigned int each), busId[32] — 68 bytes; the buffer is larger for safety.
            let info = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 8)
            defer { info.deallocate() }
            info.initializeMemory(as: UInt8.self, repeating: 0, count: 256)
            guard pci(dev, info) == 0 else { continue }
            let domain = info.load(fromByteOffset: 16, as: UInt32.self), bus = info.load(fromByteOffset: 20, as: UInt32.self)
            let slot = info.load(fromByteOffset: 24, as: UInt32.self)
            guard bus < 256, slot < 32 else { continue }
            var text = [CChar](repeating: 0, count: 96)
            let label = name.flatMap { f in f(dev, &text, 96) == 0 ? String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil }
            devices.append((NVML.busID(domain: domain, bus: bus, device: slot), label, dev))
        }
        if devices.isEmpty { unavailable = "NVML answered for no GPU" }
    }

    deinit {
        if let h = handle {
            if unavailable == nil || !devices.isEmpty, let f = dlsym(h, "nvmlShutdown") { _ = unsafeBitCast(f, to: Shutdown.self)() }
            dlclose(h)
        }
    }

    /// `domain:bus:device.0` as sysfs writes it (NVML's own busId is `%08X:%02X:%02X.0`).
    static func busID(domain: UInt32, bus: UInt32, device: UInt32) -> String {
        func hex(_ v: UInt32, _ w: Int) -> String { let s = String(v, radix: 16); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return "\(hex(domain, 4)):\(hex(bus, 2)):\(hex(device, 2)).0"
    }

    public func sample() -> [GPUCounters] {
        devices.map { d in
            var g = GPUCounters(busID: d.busID, name: d.name)
            if let throughput {
                var kb: UInt32 = 0
                // NVML_PCIE_UTIL_TX_BYTES = 0, NVML_PCIE_UTIL_RX_BYTES = 1; KB/s.
                if throughput(d.device, 0, &kb) == 0 { g.txBytesPerSecond = Double(kb) * 1024 }
                if throughput(d.device, 1, &kb) == 0 { g.rxBytesPerSecond = Double(kb) * 1024 }
            }
            if let bar1 {
                // nvmlBAR1Memory_t: bar1Total, bar1Free, bar1Used (bytes).
                var m = [UInt64](repeating: 0, count: 3)
                if bar1(d.device, &m) == 0 { g.bar1Total = m[0]; g.bar1Used = m[2] }
            }
            return g
        }
    }
}
