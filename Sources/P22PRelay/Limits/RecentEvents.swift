import NIOCore

/// Per client address, the times of its last few events (failed joins,
/// reservations, group creates), to allow at most `limit` of them per
/// `window`. A value: the relay wraps it in a lock, tests drive it directly.
///
/// The table holds at most `capacity` addresses and forgets the least
/// recently used one to make room. An address is used whenever it is asked
/// about or records an event, so one that keeps trying stays in the table:
/// a flood of other addresses can push out only an address that has been
/// quiet while `capacity` others were seen, and such a flood earns each of
/// its own addresses no more than its `limit` anyway. Nothing is ever
/// cleared wholesale.
struct RecentEvents {
    let limit: Int
    let window: TimeAmount
    let capacity: Int

    enum Verdict: Equatable {
        case allowed
        /// Over the limit until `retryAfter` from now.
        case limited(retryAfter: TimeAmount)
    }

    /// One address: its recent event times, oldest first (at most `limit`),
    /// and its neighbours in the use order, as slot indices.
    private struct Entry {
        var address: String
        var times: [NIODeadline]
        var newer: Int?
        var older: Int?
    }

    private var slots: [Entry] = []
    private var index: [String: Int] = [:]
    private var free: [Int] = []
    private var newest: Int?
    private var oldest: Int?

    init(limit: Int, window: TimeAmount, capacity: Int) {
        precondition(limit >= 1 && capacity >= 1)
        self.limit = limit
        self.window = window
        self.capacity = capacity
    }

    /// Addresses held.
    var count: Int { index.count }

    /// Whether `address` may have another event now.
    mutating func verdict(for address: String, now: NIODeadline) -> Verdict {
        guard let slot = index[address] else { return .allowed }
        let recent = slots[slot].times.filter { now - $0 < window }
        guard !recent.isEmpty else {
            remove(slot)
            return .allowed
        }
        slots[slot].times = recent
        touch(slot)
        return recent.count < limit ? .allowed : .limited(retryAfter: recent[0] + window - now)
    }

    mutating func record(_ address: String, now: NIODeadline) {
        if let slot = index[address] {
            slots[slot].times.append(now)
            if slots[slot].times.count > limit { slots[slot].times.removeFirst(slots[slot].times.count - limit) }
            touch(slot)
            return
        }
        if index.count >= capacity, let oldest { remove(oldest) }
        let entry = Entry(address: address, times: [now], newer: nil, older: newest)
        let slot: Int
        if let reused = free.popLast() {
            slot = reused
            slots[slot] = entry
        } else {
            slot = slots.count
            slots.append(entry)
        }
        index[address] = slot
        link(asNewest: slot)
    }

    /// Addresses from least to most recently used (for tests).
    var addressesByAge: [String] {
        var result: [String] = []
        var cursor = oldest
        while let slot = cursor {
            result.append(slots[slot].address)
            cursor = slots[slot].newer
        }
        return result
    }

    private mutating func touch(_ slot: Int) {
        guard newest != slot else { return }
        unlink(slot)
        link(asNewest: slot)
    }

    private mutating func remove(_ slot: Int) {
        unlink(slot)
        index[slots[slot].address] = nil
        slots[slot].times = []
        free.append(slot)
    }

    private mutating func link(asNewest slot: Int) {
        slots[slot].older = newest
        slots[slot].newer = nil
        if let newest { slots[newest].newer = slot }
        newest = slot
        if oldest == nil { oldest = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let (newer, older) = (slots[slot].newer, slots[slot].older)
        if let newer { slots[newer].older = older } else { newest = older }
        if let older { slots[older].newer = newer } else { oldest = newer }
        slots[slot].newer = nil
        slots[slot].older = nil
    }
}
