// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "p2ptop",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "p2ptop", targets: ["p2ptop"]),
        .executable(name: "p2ptop-fuzz", targets: ["p2ptop-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.6.0"),
        // The exporter's HTTP/1.1 server (NIOHTTP1 on NIOPosix): 49 s of a cold build here,
        // where Hummingbird, on top of it, took 2 min 24 s.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // libpci headers plus a small C shim: fixed-arity name lookups and an error
        // handler that longjmps back instead of letting libpci exit() the process.
        .target(name: "CPCI", linkerSettings: [.linkedLibrary("pci")]),
        // Reading the machine: procfs/sysfs attributes, listings, links, whole files (no Foundation).
        .target(name: "LinuxFiles"),
        // Which characters a terminal obeys: the one definition the output edge, JSON and the
        // NCCL export escape.
        .target(name: "TextSafety"),
        // Pure model: config-space decoding, devices, the tree, selectors. No I/O.
        .target(name: "PCITopology"),
        // Everything that turns the world into a Topology: dumps, libpci (live, sysfs roots),
        // sysfs extras, snapshots.
        .target(name: "PCISources", dependencies: ["PCITopology", "CPCI", "LinuxFiles", "TextSafety"]),
        // The kernel's error numbers by their kernel names, and the error the engine and the real
        // backends both throw with them.
        .target(name: "KernelErrno"),
        // The kernel's P2PDMA decisions (map type, distance, allowlist, path class). Pure.
        .target(name: "P2PDMA", dependencies: ["PCITopology", "TextSafety"]),
        // libibverbs (RDMA devices, memory registration, loopback RDMA WRITE).
        .systemLibrary(name: "CVerbs"),
        // io_uring's system calls and ring accessors (header only; no liburing).
        .systemLibrary(name: "CIOUring"),
        // The model's runtime state: providers, pages, VMAs, GUP/PUP, SG lists, DMA mapping,
        // dma-buf, lifetime, and transfers that move real bytes between simulated BARs. Pure:
        // no file, device or syscall I/O beyond its own anonymous memory.
        .target(name: "P2PEngine", dependencies: ["PCITopology", "P2PDMA", "KernelErrno"]),
        // The real things the model stands for: host memory, p2pmem/allocate, DMA-BUF heaps,
        // O_DIRECT (threads, io_uring), resourceN mapping, verbs registration and loopback.
        .target(name: "RealBackends", dependencies: ["PCITopology", "PCISources", "P2PEngine", "KernelErrno", "CVerbs", "CIOUring", "LinuxFiles"]),
        // The kernel lab: fabrics as QEMU machine descriptions, the lab kernel build, the guest
        // init, lab run, and the conformance experiments (model against the real kernel).
        .target(name: "Lab", dependencies: ["PCITopology", "PCISources", "P2PDMA", "P2PEngine", "RealBackends", "LinuxFiles"]),
        // One value per answer the tool gives (a transfer's report, …), made by pure functions
        // from the model's and the backends' values; the CLI's text and JSON draw them.
        .target(name: "Reports", dependencies: ["PCITopology", "PCISources", "P2PDMA", "P2PEngine", "RealBackends", "LinuxFiles", "Telemetry"]),
        // Samplers of live counters (pins, VmPin, p2pmem, RDMA, block, link, AER), series, OpenMetrics.
        .target(name: "Telemetry", dependencies: ["LinuxFiles"]),
        // `p2ptop exporter`: the HTTP server Prometheus scrapes (content negotiation, one sample
        // shared by concurrent scrapes, limits on slow and stuck clients), and the alert rules
        // and dashboard generated from the metric catalog.
        .target(name: "Exporter", dependencies: ["Telemetry", "Reports", "LinuxFiles",
                                                 .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                                                 .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        // ncursesw with the wide-character API (NCURSES_WIDECHAR in the shim header).
        .systemLibrary(name: "CNcurses"),
        // A small TUI toolkit: cells, canvas, widgets, themes, terminals (ncurses and in-memory).
        .target(name: "TerminalUI", dependencies: ["CNcurses", "TextSafety"]),
        // The application: screens, state, keys → actions.
        .target(name: "Explorer", dependencies: ["PCITopology", "PCISources", "P2PDMA", "P2PEngine", "RealBackends", "Reports", "Telemetry", "TerminalUI", "LinuxFiles"]),
        .executableTarget(
            name: "p2ptop",
            dependencies: [
                "PCITopology", "PCISources", "P2PDMA", "P2PEngine", "RealBackends", "Reports", "Lab", "TerminalUI", "Explorer", "Telemetry", "LinuxFiles", "TextSafety", "Exporter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The JSON Schemas of every document p2ptop prints, compiled in (`p2ptop schema NAME`).
            resources: [.embedInCode("Schemas")]),
        // One entry per parser for the fuzzers and their replay tests; the libFuzzer executable.
        .target(name: "FuzzTargets", dependencies: ["PCITopology", "PCISources", "P2PDMA", "P2PEngine", "TerminalUI", "Explorer"]),
        .executableTarget(name: "p2ptop-fuzz", dependencies: ["FuzzTargets"]),
        // What the tests know about the machine they run on (fixtures, lspci, O_DIRECT), decided
        // before any test starts so that each can be skipped with its reason.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "PCITopologyTests", dependencies: ["PCITopology"]),
        .testTarget(name: "PCISourcesTests", dependencies: ["TestSupport", "PCISources", "PCITopology", "P2PDMA"]),
        .testTarget(name: "P2PDMATests", dependencies: ["TestSupport", "P2PDMA", "PCITopology", "PCISources"]),
        .testTarget(name: "TelemetryTests", dependencies: ["Telemetry"]),
        .testTarget(name: "ExporterTests", dependencies: [.product(name: "NIOCore", package: "swift-nio"), "TestSupport", "Exporter", "Telemetry", "Reports", "P2PDMA", "PCITopology", "PCISources", "LinuxFiles"]),
        .testTarget(name: "TerminalUITests", dependencies: ["TestSupport", "TerminalUI", "Explorer", "PCISources", "P2PDMA", "P2PEngine", "PCITopology", "RealBackends", "LinuxFiles"]),
        .testTarget(name: "P2PEngineTests", dependencies: ["TestSupport", "P2PEngine", "RealBackends", "P2PDMA", "PCITopology", "PCISources"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "P2PEngine", "P2PDMA", "PCITopology", "PCISources"]),
        .testTarget(name: "FuzzReplayTests", dependencies: ["TestSupport", "FuzzTargets"]),
        .testTarget(name: "LabTests", dependencies: ["Lab", "P2PEngine", "P2PDMA", "PCITopology", "PCISources"], exclude: ["Recorded"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "p2ptop"]),
    ],
    swiftLanguageModes: [.v6]
)
