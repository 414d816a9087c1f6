import ArgumentParser
import TextSafety

/// The command line before and after ArgumentParser reads it: negative numbers kept as values,
/// unknown commands and options answered with the nearest real one, `help NOSUCH` an error.
enum CommandLineHelp {
    static var commands: [ParsableCommand.Type] { P2PTop.configuration.subcommands }
    static var commandNames: [String] { commands.map(name) }

    /// `--size -5` → `--size=-5`: the value reaches the option's own check ("not a size")
    /// instead of ArgumentParser's "Missing value".
    static func repaired(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            // After `--` the words are another command's (lab run -- …): left as they are.
            if a == "--" { out += args[i...]; break }
            if a.hasPrefix("--"), !a.contains("="), a.count > 2, i + 1 < args.count, isNegativeNumber(args[i + 1]) {
                out.append(a + "=" + args[i + 1]); i += 2; continue
            }
            out.append(a); i += 1
        }
        return out
    }

    static func isNegativeNumber(_ s: String) -> Bool {
        guard s.hasPrefix("-"), let c = s.dropFirst().first else { return false }
        return c.isNumber || c == "."
    }

    /// A first word that names no command (`p2ptop tre`), or `help` of one that does not exist:
    /// the one-line answer, else nil.
    static func unknownCommand(_ args: [String]) -> String? {
        guard let first = args.first, !first.hasPrefix("-") else { return nil }
        if first == "help" {
            guard args.count >= 2, !args[1].hasPrefix("-"), !commandNames.contains(args[1]) else { return nil }
            return "no command '\(args[1])'\(Nearest.hint(args[1], among: commandNames)) (p2ptop help lists them)"
        }
        guard let command = commands.first(where: { name($0) == first }) else {
            return "no command '\(first)'\(Nearest.hint(first, among: commandNames)) (p2ptop help lists them)"
        }
        // `lab chek`: a command made of subcommands, without a default one, given none of them.
        let subs = command.configuration.subcommands.map(name)
        guard !subs.isEmpty, command.configuration.defaultSubcommand == nil, args.count >= 2, !args[1].hasPrefix("-"), !subs.contains(args[1]) else { return nil }
        return "no command '\(first) \(args[1])'\(Nearest.hint(args[1], among: subs)) (p2ptop help \(first) lists them)"
    }

    static func name(_ c: ParsableCommand.Type) -> String { c.configuration.commandName ?? c._commandName }

    /// ArgumentParser's "Unknown option '--fabirc'" with the command's nearest option added.
    static func withSuggestion(_ message: String, _ args: [String]) -> String {
        let prefix = "Unknown option '"
        guard message.hasPrefix(prefix), !message.contains("Did you mean"), let end = message.dropFirst(prefix.count).firstIndex(of: "'") else { return message }
        let typed = String(message[message.index(message.startIndex, offsetBy: prefix.count)..<end])
        let command = args.first.flatMap { name in commands.first { ($0.configuration.commandName ?? $0._commandName) == name } } ?? ExploreCommand.self
        return message + Nearest.hint(typed, among: options(of: command))
    }

    /// Every `--long` option a command's help names.
    static func options(of command: ParsableCommand.Type) -> [String] {
        var out = Set<String>()
        for word in command.helpMessage(columns: 1000).split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," || $0 == "[" || $0 == "]" || $0 == "(" || $0 == ")" }) {
            guard word.hasPrefix("--"), word.count > 2 else { continue }
            let name = word.prefix { $0 != "=" && $0 != "<" }
            if name.dropFirst(2).allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) { out.insert(String(name)) }
        }
        return out.sorted()
    }
}
