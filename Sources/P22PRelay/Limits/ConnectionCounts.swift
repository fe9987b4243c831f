import NIOCore

/// Open connections per client address, for `--max-connections-per-address`.
/// An address is held only while it has connections open, so the table is
/// bounded by the relay's open connections. A value; `AddressLimits` locks it.
struct ConnectionCounts {
    let limit: Int
    /// A flood of refused connections from one address is logged once per
    /// interval, with how many were refused in between.
    let logInterval: TimeAmount

    enum Outcome: Equatable {
        case opened
        /// Over the limit. `log`: whether to write a line now; `unlogged`:
        /// refusals since the last line, this one included.
        case refused(log: Bool, unlogged: Int)
    }

    private struct Entry {
        var open: Int
        var unlogged = 0
        var lastLogged: NIODeadline?
    }

    private var entries: [String: Entry] = [:]

    init(limit: Int, logInterval: TimeAmount = .seconds(10)) {
        self.limit = limit
        self.logInterval = logInterval
    }

    mutating func open(_ address: String, now: NIODeadline) -> Outcome {
        guard var entry = entries[address] else {
            entries[address] = Entry(open: 1)
            return .opened
        }
        guard entry.open >= limit else {
            entry.open += 1
            entries[address] = entry
            return .opened
        }
        entry.unlogged += 1
        let unlogged = entry.unlogged
        let log = entry.lastLogged.map { now - $0 >= logInterval } ?? true
        if log {
            entry.lastLogged = now
            entry.unlogged = 0
        }
        entries[address] = entry
        return .refused(log: log, unlogged: unlogged)
    }

    /// A connection that `open` let in has closed.
    mutating func close(_ address: String) {
        guard var entry = entries[address] else { return }
        entry.open -= 1
        entries[address] = entry.open > 0 ? entry : nil
    }

    func openConnections(from address: String) -> Int { entries[address]?.open ?? 0 }

    /// Addresses with connections open.
    var count: Int { entries.count }
}
