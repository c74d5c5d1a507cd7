public import Storage

/// One saved version of a strategy's state, as reported (without the state).
public struct VersionInfo: Sendable, Equatable {
    public var experiment: String
    public var strategy: String
    public var version: Int
    public var status: VersionStatus
    public var reason: VersionReason
    /// The last learning event accounted for in the state.
    public var watermark: Int64
    public var checksum: String
    public var stateFormatVersion: Int
    public var stateSize: Int
    public var pluginName: String
    public var pluginVersion: String
    public var config: String
    public var restoredFrom: Int?
    public var createdAt: Int64

    init(_ record: ModelVersionRecord, experiment: String, strategy: String) {
        self.experiment = experiment
        self.strategy = strategy
        version = record.version
        status = record.status
        reason = record.reason
        watermark = record.watermark
        checksum = record.checksum
        stateFormatVersion = record.stateFormatVersion
        stateSize = record.state.count
        pluginName = record.pluginName
        pluginVersion = record.pluginVersion
        config = record.config
        restoredFrom = record.restoredFrom
        createdAt = record.createdAt
    }
}
