import ArgumentParser

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmarks against the tools users already have.")
    func run() throws { throw CommandError(message: "bench: not yet") }
}
