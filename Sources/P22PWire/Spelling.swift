/// "Did you mean": the known word closest to a mistyped one, by edit
/// distance, for unknown commands, profile keys and setting values.
public enum Spelling {
    /// The closest of `known` to `word`, if it is close enough to be a typo:
    /// at most a third of the word's letters (at least one) differ.
    public static func closest(to word: String, among known: [String]) -> String? {
        let limit = max(1, word.count / 3)
        let scored = known.map { ($0, distance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= limit else { return nil }
        return best.0
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions
    /// and swaps of neighbours ("craete" is one from "create").
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var rows = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { rows[i][0] = i }
        for j in 0...b.count { rows[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
                }
            }
        }
        return rows[a.count][b.count]
    }

    /// `, did you mean "x"?` or nothing: for the end of a message.
    public static func suggestion(for word: String, among known: [String]) -> String {
        closest(to: word, among: known).map { "; did you mean \"\($0)\"?" } ?? ""
    }
}
