import Foundation

/// A forward's byte counters sampled at a fixed interval, the last few
/// minutes of them: the rates and the sparkline of the status page.
struct ForwardHistory {
    struct Rates: Equatable {
        var rateIn: [Double] = []
        var rateOut: [Double] = []
    }

    private(set) var samples: [(time: Double, bytesIn: Int, bytesOut: Int)] = []
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    mutating func record(time: Double, bytesIn: Int, bytesOut: Int) {
        samples.append((time, bytesIn, bytesOut))
        if samples.count > capacity + 1 { samples.removeFirst(samples.count - capacity - 1) }
    }

    /// Bytes per second between consecutive samples, oldest first. A counter
    /// that went down (the forward was removed and added again) counts as 0.
    var rates: Rates {
        var rates = Rates()
        for (earlier, later) in zip(samples, samples.dropFirst()) {
            let seconds = max(later.time - earlier.time, 0.001)
            rates.rateIn.append(Double(max(later.bytesIn - earlier.bytesIn, 0)) / seconds)
            rates.rateOut.append(Double(max(later.bytesOut - earlier.bytesOut, 0)) / seconds)
        }
        return rates
    }
}
