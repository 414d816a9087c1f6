import Foundation
import Testing
@testable import Telemetry

/// NVML through its real calling convention: a stand-in `libnvidia-ml.so` is compiled here
/// with the C compiler, exporting the functions with nvml.h's signatures and struct layouts,
/// and loaded by path the way the real one is loaded by soname.
@Suite struct NVMLTests {
    static let source = #"""
    #include <string.h>
    typedef struct { int unused; } *nvmlDevice_t;
    typedef struct { char busIdLegacy[16]; unsigned domain, bus, device, pciDeviceId, pciSubSystemId; char busId[32]; } nvmlPciInfo_t;
    typedef struct { unsigned long long bar1Total, bar1Free, bar1Used; } nvmlBAR1Memory_t;
    static struct { int unused; } gpus[2];
    static int initialised;
    int nvmlInit_v2(void) { initialised = 1; return 0; }
    int nvmlShutdown(void) { initialised = 0; return 0; }
    int nvmlDeviceGetCount_v2(unsigned *n) { *n = 2; return 0; }
    int nvmlDeviceGetHandleByIndex_v2(unsigned i, nvmlDevice_t *d) { if (i > 1) return 2; *d = (nvmlDevice_t)&gpus[i]; return 0; }
    int nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *p) {
        memset(p, 0, sizeof *p);
        p->domain = 0; p->bus = d == (nvmlDevice_t)&gpus[0] ? 0x3b : 0xd8; p->device = 0;
        strcpy(p->busId, d == (nvmlDevice_t)&gpus[0] ? "00000000:3B:00.0" : "00000000:D8:00.0");
        return 0;
    }
    int nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned len) { strncpy(name, "NVIDIA H100 80GB HBM3", len); return 0; }
    /* KB/s; counter 0 = TX, 1 = RX. The second GPU refuses (NVML_ERROR_NOT_SUPPORTED = 3). */
    int nvmlDeviceGetPcieThroughput(nvmlDevice_t d, int counter, unsigned *kb) {
        if (d != (nvmlDevice_t)&gpus[0]) return 3;
        *kb = counter == 0 ? 1000 : 24000000; return 0;
    }
    int nvmlDeviceGetBAR1MemoryInfo(nvmlDevice_t d, nvmlBAR1Memory_t *m) {
        m->bar1Total = 128ULL << 30; m->bar1Used = 3ULL << 30; m->bar1Free = m->bar1Total - m->bar1Used; return 0;
    }
    """#

    static func build() throws -> String? {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("p2ptop-nvml-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let c = dir.appendingPathComponent("nvml.c"), so = dir.appendingPathComponent("libnvidia-ml.so.1")
        try source.write(to: c, atomically: true, encoding: .utf8)
        for cc in ["/usr/bin/cc", "/usr/bin/gcc", "/opt/swift/usr/bin/clang"] where FileManager.default.isExecutableFile(atPath: cc) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: cc)
            p.arguments = ["-shared", "-fPIC", "-o", so.path, c.path]
            try p.run(); p.waitUntilExit()
            if p.terminationStatus == 0 { return so.path }
        }
        return nil
    }

    @Test func countersThroughTheRealCallingConvention() throws {
        guard let lib = try Self.build() else { Issue.record("no C compiler to build the stand-in NVML"); return }
        let nvml = NVML(library: lib)
        #expect(nvml.unavailable == nil)
        let gpus = nvml.sample()
        #expect(gpus.count == 2)
        let a = try #require(gpus.first { $0.busID == "0000:3b:00.0" })
        #expect(a.name == "NVIDIA H100 80GB HBM3")
        #expect(a.txBytesPerSecond == 1000 * 1024 && a.rxBytesPerSecond == 24_000_000 * 1024)
        #expect(a.bar1Total == 128 << 30 && a.bar1Used == 3 << 30)
        // A counter NVML refuses is unknown (nil), never 0.
        let b = try #require(gpus.first { $0.busID == "0000:d8:00.0" })
        #expect(b.txBytesPerSecond == nil && b.rxBytesPerSecond == nil && b.bar1Used == 3 << 30)
    }

    @Test func absentLibrarySaysSoOnce() {
        let nvml = NVML(library: "/nonexistent/libnvidia-ml.so.1")
        #expect(nvml.unavailable?.contains("no NVIDIA driver") == true)
        #expect(nvml.sample().isEmpty)
    }

    @Test func busIDsAreSysfsShaped() {
        #expect(NVML.busID(domain: 0, bus: 0x3b, device: 0) == "0000:3b:00.0")
        #expect(NVML.busID(domain: 0x10000, bus: 1, device: 0x1f) == "10000:01:1f.0")
    }
}
