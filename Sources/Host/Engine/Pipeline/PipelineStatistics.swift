internal import Synchronization

/// The pipeline's figures behind a lock, shared by the writer (which updates
/// them) and the engine (which reports them).
final class PipelineMonitor: Sendable {
    let statistics = Mutex(PipelineStatistics())
}

/// Figures of the write pipeline, for status and metrics.
public struct PipelineStatistics: Sendable {
    /// Feedback batches committed.
    public var batches = 0
    /// Events accepted, duplicate and rejected since start.
    public var accepted = 0
    public var duplicates = 0
    public var rejected = 0
    /// Decisions written to the log since start.
    public var decisionsLogged = 0
    /// Feedback events waiting now.
    public var queuedEvents = 0
    /// Decisions waiting to be logged now.
    public var queuedDecisions = 0
    /// Size of the last feedback batch and when it committed (ms since epoch).
    public var lastBatchSize = 0
    public var lastBatchAt: Int64?
    /// Model versions written since start.
    public var versionsWritten = 0
    /// Plugin update refusals (should stay 0).
    public var pluginRefusals = 0
    /// Event-to-model latencies of recent feedback submissions (from their
    /// arrival to their events being applied to the model), in seconds.
    public var recentLatencies = SlidingWindow<Double>(capacity: 4_096)
    /// Sizes of recent batches.
    public var recentBatchSizes = SlidingWindow<Int>(capacity: 256)
}

/// The last `capacity` values recorded, in a ring.
public struct SlidingWindow<Value: Sendable & Comparable>: Sendable {
    public private(set) var values: [Value] = []
    private var next = 0
    public let capacity: Int

    public init(capacity: Int) {
        self.capacity = capacity
    }

    public mutating func record(_ value: Value) {
        if values.count < capacity {
            values.append(value)
        } else {
            values[next] = value
            next = (next + 1) % capacity
        }
    }

    /// The q-quantile (0...1) of the values, nil when there are none.
    public func quantile(_ q: Double) -> Value? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.down)))]
    }
}
