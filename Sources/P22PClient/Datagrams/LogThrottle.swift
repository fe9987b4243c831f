import NIOCore

/// At most one log line per subject and interval. A peer can open flows,
/// and a local program can send from new ports, as fast as it likes; each
/// would otherwise be worth a line of its own.
struct LogThrottle {
    let interval: TimeAmount
    private var lastLogged: [String: NIODeadline] = [:]
    private var suppressed: [String: Int] = [:]

    init(interval: TimeAmount = .minutes(1)) {
        self.interval = interval
    }

    /// nil if `subject` was logged within the interval (the line is counted
    /// instead); otherwise how many lines were held back since the last one.
    mutating func admit(_ subject: String, now: NIODeadline = .now()) -> Int? {
        if let last = lastLogged[subject], now - last < interval {
            suppressed[subject, default: 0] += 1
            return nil
        }
        if lastLogged.count >= 256 {
            lastLogged = lastLogged.filter { now - $0.value < interval }
            suppressed = suppressed.filter { lastLogged[$0.key] != nil }
        }
        lastLogged[subject] = now
        return suppressed.removeValue(forKey: subject) ?? 0
    }

    /// " (and 12 more like it in the last minute)", or nothing.
    static func more(_ count: Int) -> String {
        count == 0 ? "" : " (and \(count) more like it since the last such line)"
    }
}
