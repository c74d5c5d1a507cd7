internal import ArbiterABI
internal import Logging

/// Why the host replaced a plugin's decision by a uniform choice.
public enum FallbackReason: Sendable, Equatable, CustomStringConvertible {
    /// select() returned an error status.
    case pluginError(String)
    /// select() returned an arm that was not eligible.
    case armNotEligible(UInt32)
    /// select() returned a propensity that is NaN, infinite or outside (0, 1].
    case invalidPropensity(Double)

    public var description: String {
        switch self {
        case let .pluginError(message): "plugin error: \(message)"
        case let .armNotEligible(arm): "plugin chose arm \(arm), which was not eligible"
        case let .invalidPropensity(value): "plugin returned propensity \(value)"
        }
    }
}

/// One decision as the host hands it on.
public struct Decision: Sendable, Equatable {
    /// The chosen arm.
    public var arm: UInt32
    /// The probability the policy had of choosing it; NaN when not requested.
    public var propensity: Double
    /// Set when the plugin misbehaved and the host chose uniformly instead.
    public var fallback: FallbackReason?
    /// The plugin's score of each eligible arm, in the order of the request,
    /// when scores were requested.
    public var scores: [Double]?

    public static func == (lhs: Decision, rhs: Decision) -> Bool {
        lhs.arm == rhs.arm && lhs.propensity.bitPattern == rhs.propensity.bitPattern
            && lhs.fallback == rhs.fallback && lhs.scores.map { $0.map(\.bitPattern) } == rhs.scores.map { $0.map(\.bitPattern) }
    }
}

/// One feedback record for `StrategyInstance.update`.
public struct FeedbackRecord: Sendable {
    public var arm: UInt32
    public var reward: Double
    public var weight: Double

    public init(arm: UInt32, reward: Double, weight: Double = 1) {
        self.arm = arm
        self.reward = reward
        self.weight = weight
    }
}

/// A strategy instance inside a plugin, wrapped so that nothing the plugin
/// returns can corrupt the host: requests are validated before the call and
/// decisions after it; a bad decision becomes a uniform fallback.
///
/// Not thread-safe, by the ABI's contract: callers serialise all calls on one
/// instance (distinct instances may be used concurrently). It is `Sendable`
/// only so that it can move between threads and live behind a lock, as the
/// engine keeps each instance behind its strategy's lock.
public final class StrategyInstance: @unchecked Sendable {
    /// The plugin this instance lives in.
    public let plugin: StrategyPlugin
    /// Number of arms.
    public private(set) var armCount: Int
    private let handle: OpaquePointer
    private var seen: [UInt64]
    /// The buffer size the next `serialize` starts with: the last state's, with room to grow.
    private var stateSizeHint = 0
    private var updateBuffer: [arbiter_update_record] = []
    /// How long the plugin's last `select` took, in nanoseconds.
    public private(set) var lastSelectNanoseconds = 0

    init(plugin: StrategyPlugin, handle: OpaquePointer, armCount: Int) {
        self.plugin = plugin
        self.handle = handle
        self.armCount = armCount
        // One register checks the eligible set of up to 64 arms: no array for those.
        self.seen = armCount > 64 ? Array(repeating: 0, count: (armCount + 63) / 64) : []
    }

    deinit {
        plugin.vtable.destroy!(handle)
    }

    /// Appends `count` arms with no learned state.
    public func addArms(_ count: Int) throws(PluginCallError) {
        guard count > 0 else { return }
        try plugin.call("add_arms", timed: .addArms) { error in plugin.vtable.add_arms!(handle, UInt32(count), error) }
        armCount += count
        seen = armCount > 64 ? Array(repeating: 0, count: (armCount + 63) / 64) : []
    }

    /// Checks that `eligible` is non-empty, in range and without repeats.
    public func validate(eligible: UnsafeBufferPointer<UInt32>) throws(InvalidRequest) {
        guard !eligible.isEmpty else { throw InvalidRequest("at least one arm must be eligible") }
        let armCount = self.armCount
        if armCount <= 64 {
            // The common case: one register holds the set of arms seen.
            var seen: UInt64 = 0
            for arm in eligible {
                guard Int(arm) < armCount else { throw InvalidRequest("arm \(arm) does not exist (there are \(armCount) arms)") }
                let bit: UInt64 = 1 << UInt64(arm)
                guard seen & bit == 0 else { throw InvalidRequest("arm \(arm) is listed twice") }
                seen |= bit
            }
            return
        }
        let problem: InvalidRequest? = seen.withUnsafeMutableBufferPointer { seen in
            defer { for arm in eligible where Int(arm) < armCount { seen[Int(arm) >> 6] = 0 } }
            for arm in eligible {
                guard Int(arm) < armCount else {
                    return InvalidRequest("arm \(arm) does not exist (there are \(armCount) arms)")
                }
                let bit: UInt64 = 1 << (UInt64(arm) & 63)
                guard seen[Int(arm) >> 6] & bit == 0 else {
                    return InvalidRequest("arm \(arm) is listed twice")
                }
                seen[Int(arm) >> 6] |= bit
            }
            return nil
        }
        if let problem { throw problem }
    }

    /// Makes one decision.
    /// - Parameters:
    ///   - eligible: the arms available now; distinct, in range, not empty.
    ///   - context: optional context features.
    ///   - seed: the seed of every random draw of this decision.
    ///   - propensity: false to let the plugin skip computing it.
    ///   - scores: true to receive the plugin's score of each eligible arm.
    public func select(
        eligible: UnsafeBufferPointer<UInt32>, context: UnsafeBufferPointer<Double> = .init(start: nil, count: 0),
        seed: UInt64, propensity: Bool = true, scores wantsScores: Bool = false
    ) throws(InvalidRequest) -> Decision {
        try validate(eligible: eligible)
        var request = arbiter_select_request()
        request.struct_size = UInt32(MemoryLayout<arbiter_select_request>.size)
        request.flags = propensity ? 0 : UInt32(ARBITER_SELECT_SKIP_PROPENSITY)
        request.eligible_arms = eligible.baseAddress
        request.eligible_count = UInt32(eligible.count)
        request.context = context.baseAddress
        request.context_count = UInt32(context.count)
        request.seed = seed
        var selection = arbiter_selection()
        selection.struct_size = UInt32(MemoryLayout<arbiter_selection>.size)
        var scores: [Double]? = wantsScores ? Array(repeating: .nan, count: eligible.count) : nil

        let failure: String? = ErrorBuffer.with { error in
            let status: arbiter_status
            let started = PluginCallTimes.now()
            defer {
                lastSelectNanoseconds = PluginCallTimes.now() - started
                plugin.callTimes.record(.select, nanoseconds: lastSelectNanoseconds)
            }
            if scores != nil {
                status = scores!.withUnsafeMutableBufferPointer { buffer in
                    selection.scores = buffer.baseAddress
                    defer { selection.scores = nil }
                    return plugin.vtable.select!(handle, &request, &selection, error)
                }
            } else {
                status = plugin.vtable.select!(handle, &request, &selection, error)
            }
            return status == ARBITER_OK ? nil : String(cString: error.pointee.message)
        }
        let decision = Decision(arm: selection.arm, propensity: selection.propensity, fallback: nil, scores: scores)
        if let failure {
            return fallback(.pluginError(failure), eligible: eligible, seed: seed)
        }
        guard eligible.contains(decision.arm) else {
            return fallback(.armNotEligible(decision.arm), eligible: eligible, seed: seed)
        }
        if propensity {
            let p = decision.propensity
            guard p.isFinite, p > 0, p <= 1 + 1e-9 else {
                return fallback(.invalidPropensity(p), eligible: eligible, seed: seed)
            }
        }
        return decision
    }

    /// Makes one decision over arrays (see the buffer form).
    public func select(
        eligible: [UInt32], context: [Double] = [], seed: UInt64, propensity: Bool = true, scores: Bool = false
    ) throws(InvalidRequest) -> Decision {
        let result: Result<Decision, InvalidRequest> = eligible.withUnsafeBufferPointer { arms in
            context.withUnsafeBufferPointer { features in
                Result { () throws(InvalidRequest) in
                    try select(eligible: arms, context: features, seed: seed, propensity: propensity, scores: scores)
                }
            }
        }
        return try result.get()
    }

    /// The probability the policy gives each of `eligible` (ABI 1.1), in the
    /// order of `eligible`: what off-policy evaluation weighs logged decisions
    /// by. The values are checked: finite, in [0, 1], summing to 1 within
    /// 1e-6; anything else is the plugin's fault and throws.
    public func probabilities(eligible: UnsafeBufferPointer<UInt32>, into output: inout [Double]) throws(PluginCallError) {
        guard let probabilities = plugin.vtable.probabilities else {
            throw PluginCallError(strategy: plugin.name, operation: "probabilities", status: ARBITER_E_UNSUPPORTED,
                                  message: plugin.evaluationUnsupportedReason ?? "no probabilities function")
        }
        do throws(InvalidRequest) {
            try validate(eligible: eligible)
        } catch {
            throw PluginCallError(strategy: plugin.name, operation: "probabilities", status: ARBITER_E_INVALID_ARGUMENT,
                                  message: error.message)
        }
        var request = arbiter_select_request()
        request.struct_size = UInt32(MemoryLayout<arbiter_select_request>.size)
        request.eligible_arms = eligible.baseAddress
        request.eligible_count = UInt32(eligible.count)
        if output.count != eligible.count { output = Array(repeating: .nan, count: eligible.count) }
        try plugin.call("probabilities", timed: .probabilities) { error in
            output.withUnsafeMutableBufferPointer { probabilities(handle, &request, $0.baseAddress, error) }
        }
        var total = 0.0
        for value in output {
            guard value.isFinite, value >= 0, value <= 1 else {
                throw PluginCallError(strategy: plugin.name, operation: "probabilities", status: ARBITER_E_INTERNAL,
                                      message: "the plugin gave probability \(value), not a number in [0, 1]")
            }
            total += value
        }
        guard abs(total - 1) <= 1e-6 else {
            throw PluginCallError(strategy: plugin.name, operation: "probabilities", status: ARBITER_E_INTERNAL,
                                  message: "the plugin's probabilities sum to \(total), not 1")
        }
    }

    /// The uniform choice that replaces a faulty decision, from the same seed.
    private func fallback(_ reason: FallbackReason, eligible: UnsafeBufferPointer<UInt32>, seed: UInt64) -> Decision {
        plugin.recordFault()
        HostAPI.logger.warning("strategy \(plugin.name) faulted, uniform fallback used: \(reason)")
        let position = Int(SeedSequence.unit(seed) * Double(eligible.count))
        return Decision(arm: eligible[min(position, eligible.count - 1)], propensity: 1 / Double(eligible.count),
                        fallback: reason, scores: nil)
    }

    /// Learns from `records` in order; all-or-nothing.
    public func update(_ records: [FeedbackRecord]) throws(PluginCallError) {
        updateBuffer.removeAll(keepingCapacity: true)
        for record in records {
            var entry = arbiter_update_record()
            entry.arm = record.arm
            entry.reward = record.reward
            entry.weight = record.weight
            updateBuffer.append(entry)
        }
        try plugin.call("update", timed: .update) { error in
            updateBuffer.withUnsafeBufferPointer { plugin.vtable.update!(handle, $0.baseAddress, UInt64($0.count), error) }
        }
    }

    /// The state as a self-describing envelope; the same state gives the same bytes.
    public func serialize() throws(PluginCallError) -> [UInt8] {
        var length: UInt64 = 0
        // Sized from the last state (one call, not two, when it did not
        // grow); the bytes go to the caller, none stay with the instance (a
        // buffer kept per instance grew every serialized experiment in memory
        // by its state's size).
        var capacity = stateSizeHint
        for _ in 0..<2 {
            var bytes = [UInt8](repeating: 0, count: capacity)
            do {
                try plugin.call("serialize", timed: .serialize) { error in
                    bytes.withUnsafeMutableBufferPointer {
                        plugin.vtable.serialize!(handle, $0.baseAddress, UInt64(capacity), &length, error)
                    }
                }
                guard Int(length) <= capacity else { break }
                stateSizeHint = Int(length) + Int(length) / 4
                bytes.removeLast(capacity - Int(length))
                return bytes
            } catch where error.status == ARBITER_E_BUFFER_TOO_SMALL && Int(length) > capacity {
                capacity = Int(length) + Int(length) / 4
            }
        }
        throw PluginCallError(strategy: plugin.name, operation: "serialize", status: ARBITER_E_INTERNAL,
                              message: "the state's length disagrees with the buffer (it kept changing, or passed the buffer's end)")
    }

    /// A JSON summary of the learned state, or nil when the plugin offers none.
    public func inspect() throws(PluginCallError) -> String? {
        guard let inspect = plugin.vtable.inspect else { return nil }
        var length: UInt64 = 0
        var buffer = [CChar](repeating: 0, count: 4096)
        for _ in 0..<2 {
            let capacity = buffer.count
            do {
                try plugin.call("inspect", timed: .inspect) { error in
                    buffer.withUnsafeMutableBufferPointer { inspect(handle, $0.baseAddress, UInt64(capacity), &length, error) }
                }
                return String(decoding: buffer[0..<Int(length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            } catch where error.status == ARBITER_E_BUFFER_TOO_SMALL && Int(length) > capacity {
                buffer = [CChar](repeating: 0, count: Int(length))
            }
        }
        return nil
    }
}
