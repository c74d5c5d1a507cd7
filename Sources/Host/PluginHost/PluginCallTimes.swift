internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// The time a plugin spends in each kind of call: a histogram per operation,
/// kept in atomics (recording takes two clock reads and two relaxed adds, no
/// lock) and read when the metrics are rendered.
public final class PluginCallTimes: Sendable {
    /// The calls the host makes into a plugin.
    public enum Operation: Int, CaseIterable, Sendable {
        case create, restore, select, update, serialize, inspect, addArms, probabilities

        /// The name in the metric's `call` label: the vtable function's.
        public var label: String {
            switch self {
            case .create: "create"
            case .restore: "deserialize"
            case .select: "select"
            case .update: "update"
            case .serialize: "serialize"
            case .inspect: "inspect"
            case .addArms: "add_arms"
            case .probabilities: "probabilities"
            }
        }
    }

    /// Upper bounds of the buckets, in nanoseconds (10 µs to 1 s); a last
    /// bucket takes what is longer.
    public static let bucketBounds: [Int] = [10_000, 50_000, 100_000, 500_000, 1_000_000, 5_000_000,
                                             10_000_000, 50_000_000, 100_000_000, 1_000_000_000]

    /// Per operation: one count per bucket (the last for longer calls), then
    /// the sum of the calls' nanoseconds.
    private static let stride = bucketBounds.count + 2
    private let cells: InlineArray<96, Atomic<Int>>

    public init() {
        precondition(Operation.allCases.count * Self.stride == 96)
        cells = InlineArray { _ in Atomic(0) }
    }

    /// A monotonic clock reading in nanoseconds, for timing one call.
    @inline(__always)
    public static func now() -> Int {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return time.tv_sec * 1_000_000_000 + time.tv_nsec
    }

    /// Counts one call of `operation` that took `nanoseconds`.
    @inline(__always)
    public func record(_ operation: Operation, nanoseconds: Int) {
        let base = operation.rawValue * Self.stride
        var bucket = 0
        while bucket < Self.bucketBounds.count, nanoseconds > Self.bucketBounds[bucket] { bucket += 1 }
        cells[base + bucket].add(1, ordering: .relaxed)
        cells[base + Self.stride - 1].add(nanoseconds, ordering: .relaxed)
    }

    /// The figures of one operation so far.
    public struct Figures: Sendable, Equatable {
        /// Calls per bucket of `bucketBounds`, not cumulative; one more for
        /// calls longer than the last bound.
        public var buckets: [Int]
        public var totalNanoseconds: Int
        public var count: Int { buckets.reduce(0, +) }

        public init(buckets: [Int], totalNanoseconds: Int) {
            self.buckets = buckets
            self.totalNanoseconds = totalNanoseconds
        }
    }

    /// The upper bound of the bucket that holds the median call of
    /// `operation` so far (`Int.max` when that is the last bucket), nil
    /// before any call: a typical call's time that a few calls slowed by
    /// the machine (a thread preempted in the middle) do not move.
    public func typicalNanoseconds(_ operation: Operation) -> Int? {
        let base = operation.rawValue * Self.stride
        var counts: [Int] = []
        counts.reserveCapacity(Self.bucketBounds.count + 1)
        for bucket in 0...Self.bucketBounds.count { counts.append(cells[base + bucket].load(ordering: .relaxed)) }
        let total = counts.reduce(0, +)
        guard total > 0 else { return nil }
        var seen = 0
        for (bucket, count) in counts.enumerated() {
            seen += count
            if 2 * seen >= total { return bucket < Self.bucketBounds.count ? Self.bucketBounds[bucket] : Int.max }
        }
        return Int.max
    }

    public func figures(_ operation: Operation) -> Figures {
        let base = operation.rawValue * Self.stride
        return Figures(buckets: (0...Self.bucketBounds.count).map { cells[base + $0].load(ordering: .relaxed) },
                       totalNanoseconds: cells[base + Self.stride - 1].load(ordering: .relaxed))
    }
}
