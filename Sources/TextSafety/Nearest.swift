/// "Did you mean": the candidate closest to what was typed, by edit distance (insert, delete,
/// substitute, swap two neighbours), when it is close enough to be a typo — at most a third of
/// the word's length, and never for words of one or two characters.
public enum Nearest {
    /// The closest candidates (all at the best distance, at most three), or none.
    public static func matches(_ typed: String, among candidates: [String]) -> [String] {
        let lower = typed.lowercased()
        let word = Array(lower.prefix(64))
        guard word.count >= 2 else { return [] }
        let limit = max(1, word.count / 3)
        var best: [String] = [], bestDistance = Int.max
        for c in candidates where c.lowercased() != lower && !best.contains(c) {
            let d = distance(word, Array(c.lowercased().prefix(64)))
            guard d <= limit else { continue }
            if d < bestDistance { best = [c]; bestDistance = d } else if d == bestDistance { best.append(c) }
        }
        // A prefix of exactly one candidate (`tre` of `tree`) counts too.
        if best.isEmpty {
            let prefixed = candidates.filter { $0.lowercased().hasPrefix(lower) }
            if prefixed.count == 1 { return prefixed }
        }
        return Array(best.prefix(3))
    }

    public static func match(_ typed: String, among candidates: [String]) -> String? { matches(typed, among: candidates).first }

    /// Optimal string alignment distance.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }

    /// `; did you mean tree?` (`nvme0 or nvme1?`), or nothing.
    public static func hint(_ typed: String, among candidates: [String]) -> String {
        let m = matches(typed, among: candidates)
        guard let last = m.last else { return "" }
        return "; did you mean " + (m.count == 1 ? last : m.dropLast().joined(separator: ", ") + " or " + last) + "?"
    }
}
