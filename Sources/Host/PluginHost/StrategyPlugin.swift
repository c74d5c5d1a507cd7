internal import ArbiterABI
internal import Synchronization

/// A loaded, validated strategy plugin: what it declared about itself and its
/// functions. Immutable after loading; plugins are never unloaded, so the
/// function and string pointers it holds stay valid for the whole process.
public final class StrategyPlugin: @unchecked Sendable {
    /// Unique strategy name, e.g. "thompson".
    public let name: String
    /// The plugin's version.
    public let version: SemanticVersion
    /// Version of the state payload it writes.
    public let stateFormatVersion: UInt32
    /// One sentence about the strategy.
    public let summary: String
    /// JSON document describing the parameters and their defaults.
    public let parametersJSON: String
    /// Rewards it accepts, inclusive.
    public let rewardRange: ClosedRange<Double>
    /// The ABI version it was built for, "major.minor".
    public let abiVersion: String
    /// "swift", "c" or "other".
    public let language: String
    /// Its build signature.
    public let toolchain: String
    /// The library file it came from, in the plugin directory.
    public let path: String
    /// The SHA-256 of the library's bytes (hex), or "" when it was opened
    /// in place rather than from a content-addressed copy.
    public let sha256: String
    /// The file that was opened: the content-addressed copy (under the data
    /// directory) or `path` itself.
    public let loadedFrom: String

    let vtable: arbiter_strategy_vtable
    private let faultCount = Atomic<Int>(0)
    /// The time spent in each kind of call to this plugin.
    public let callTimes = PluginCallTimes()

    init(vtable: arbiter_strategy_vtable, info: arbiter_strategy_info, version: SemanticVersion, path: String,
         sha256: String = "", loadedFrom: String? = nil) {
        self.vtable = vtable
        self.name = String(cString: info.name)
        self.version = version
        self.stateFormatVersion = info.state_format_version
        self.summary = info.summary.map { String(cString: $0) } ?? ""
        self.parametersJSON = String(cString: info.parameters_json)
        self.rewardRange = info.reward_min...info.reward_max
        self.abiVersion = "\(vtable.abi_major).\(vtable.abi_minor)"
        self.language = switch Int32(vtable.language) {
        case ARBITER_LANGUAGE_SWIFT: "swift"
        case ARBITER_LANGUAGE_C: "c"
        default: "other"
        }
        self.toolchain = vtable.toolchain.map { String(cString: $0) } ?? ""
        self.path = path
        self.sha256 = sha256
        self.loadedFrom = loadedFrom ?? path
    }

    /// "name version", with the start of the content hash when there is one
    /// (two builds may carry the same version).
    public var label: String {
        sha256.isEmpty ? "\(name) \(version)" : "\(name) \(version) (\(sha256.prefix(12)))"
    }

    /// The size of ABI 1.0's vtable (`ARBITER_VTABLE_SIZE_1_0`): it ends
    /// where 1.1's `probabilities` begins.
    static let vtableSize1_0 = MemoryLayout<arbiter_strategy_vtable>.offset(of: \arbiter_strategy_vtable.probabilities)!

    /// Whether the plugin gives the probability of every eligible arm (ABI
    /// 1.1), which off-policy evaluation needs.
    public var givesProbabilities: Bool { vtable.probabilities != nil }

    /// Why the strategy cannot be evaluated off-policy, or nil when it can.
    public var evaluationUnsupportedReason: String? {
        givesProbabilities ? nil
            : "plugin \(name) \(version) (ABI \(abiVersion)) does not give the probabilities of its arms (ABI 1.1's probabilities function), which off-policy evaluation needs"
    }

    /// Decisions this plugin got wrong (an error, an arm outside the eligible
    /// set, an invalid propensity) and that the host replaced by a uniform choice.
    public var faults: Int { faultCount.load(ordering: .relaxed) }

    func recordFault() {
        faultCount.add(1, ordering: .relaxed)
    }

    /// Creates an instance with no learned state.
    /// - Parameters:
    ///   - config: JSON object of parameters; "{}" for the defaults.
    ///   - armCount: number of arms, at least 1.
    public func makeInstance(config: String = "{}", armCount: Int) throws(PluginCallError) -> StrategyInstance {
        guard armCount >= 1, armCount <= Int(UInt32.max) else {
            throw PluginCallError(strategy: name, operation: "create", status: ARBITER_E_INVALID_ARGUMENT, message: "arm count must be at least 1, got \(armCount)")
        }
        var handle: OpaquePointer?
        try call("create", timed: .create) { error in vtable.create!(vtable.plugin, config, UInt32(armCount), &handle, error) }
        return StrategyInstance(plugin: self, handle: handle!, armCount: armCount)
    }

    /// Restores an instance from a state envelope, with (possibly new) parameters.
    public func restoreInstance(config: String = "{}", state: [UInt8]) throws(PluginCallError) -> StrategyInstance {
        var handle: OpaquePointer?
        try call("deserialize", timed: .restore) { error in
            state.withUnsafeBufferPointer { bytes in
                vtable.deserialize!(vtable.plugin, config, bytes.baseAddress, UInt64(bytes.count), &handle, error)
            }
        }
        return StrategyInstance(plugin: self, handle: handle!, armCount: Int(vtable.arm_count!(handle)))
    }

    /// Calls a plugin function with an error buffer, counting its time as
    /// `timed`; throws its message on failure.
    func call(_ operation: String, timed: PluginCallTimes.Operation,
              _ body: (UnsafeMutablePointer<arbiter_error>) -> arbiter_status) throws(PluginCallError) {
        let failure: PluginCallError? = ErrorBuffer.with { buffer in
            let started = PluginCallTimes.now()
            let status = body(buffer)
            callTimes.record(timed, nanoseconds: PluginCallTimes.now() - started)
            guard status != ARBITER_OK else { return nil }
            let message = String(cString: buffer.pointee.message)
            return PluginCallError(strategy: name, operation: operation, status: status,
                                   message: message.isEmpty ? "status \(status) without a message" : message)
        }
        if let failure { throw failure }
    }
}

/// A stack-allocated error buffer for one plugin call.
enum ErrorBuffer {
    static let capacity = 1024

    static func with<T>(_ body: (UnsafeMutablePointer<arbiter_error>) -> T) -> T {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { message in
            message[0] = 0
            var error = arbiter_error(message: message.baseAddress, capacity: UInt32(capacity))
            return body(&error)
        }
    }
}
