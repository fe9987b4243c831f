import Foundation

/// The one-line ping summary, the same in the command loop and `p22p ping`.
public enum PingReport {
    public static func line(peer: String, milliseconds times: [Double]) -> String {
        String(format: "ping %@: min/avg/max = %.2f/%.2f/%.2f ms", peer,
               times.min() ?? 0, times.reduce(0, +) / Double(max(1, times.count)), times.max() ?? 0)
    }
}
