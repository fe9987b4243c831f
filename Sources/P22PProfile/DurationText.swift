/// Durations as people write them in profiles: `500ms`, `2s`, `1m`, `1h`.
enum DurationText {
    static func parse(_ text: String) -> Duration? {
        let units: [(String, (Int) -> Duration)] = [
            ("ms", { .milliseconds($0) }), ("s", { .seconds($0) }), ("m", { .seconds($0 * 60) }), ("h", { .seconds($0 * 3600) }),
        ]
        for (suffix, make) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(number), value <= 1_000_000 else { return nil }
            return make(value)
        }
        return nil
    }
}
