import FuzzTargets
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// libFuzzer's entry point: `P2PTOP_FUZZ_TARGET` names the parser (dump, snapshot, hwloc,
/// theme, scenario, config, gzip). Built with `-sanitize=fuzzer,address -D FUZZING` by
/// `.ci/fuzz`; without FUZZING it replays files given as arguments (`TARGET FILE…`).
nonisolated(unsafe) let target: String = getenv("P2PTOP_FUZZ_TARGET").map { String(cString: $0) } ?? "dump"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTargets.run(target, data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

#if FUZZING
/// libFuzzer's driver, called from the entry point SwiftPM gives an executable target (its
/// `main` is this target's, so libFuzzer's own `main` is not linked in).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@main
enum Driver {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOne))
    }
}
#else
@main
enum Replay {
    static func main() {
        let args = CommandLine.arguments.dropFirst()
        guard let name = args.first, FuzzTargets.names.contains(name) else {
            fputs("usage: p2ptop-fuzz TARGET FILE… (targets: \(FuzzTargets.names.joined(separator: ", ")))\n", stderr)
            exit(2)
        }
        for path in args.dropFirst() {
            guard let f = fopen(path, "rb") else { continue }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = fread(&buffer, 1, buffer.count, f)
                if n == 0 { break }
                bytes += buffer[0..<n]
            }
            fclose(f)
            FuzzTargets.run(name, bytes)
        }
    }
}
#endif
