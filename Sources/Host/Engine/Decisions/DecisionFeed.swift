internal import Storage
internal import Synchronization

/// A decision as it is published to those who follow them (the Kafka
/// decisions topic): what a data team joins with rewards, by names.
public struct PublishedDecision: Sendable {
    public var decisionID: String
    public var tenant: String
    public var experiment: String
    public var strategy: String
    /// The strategy's active model version when it decided.
    public var strategyVersion: Int
    public var arm: String
    public var propensity: Double
    public var trafficShare: Double
    public var seed: UInt64
    public var eligible: [String]
    public var unitID: String?
    public var fallback: String?
    /// Milliseconds since the epoch.
    public var createdAt: Int64
}

/// Where the writer hands every decision once it is stored, off the
/// decision path: to the followers registered (none by default). A follower
/// must return at once (queue the work); it runs on the writer's thread.
public final class DecisionFeed: Sendable {
    private let followers = Mutex<[@Sendable ([PublishedDecision]) -> Void]>([])

    init() {}

    /// Adds a follower of every decision stored from now on.
    public func follow(_ follower: @escaping @Sendable ([PublishedDecision]) -> Void) {
        followers.withLock { $0.append(follower) }
    }

    var isFollowed: Bool { !followers.withLock { $0.isEmpty } }

    /// Hands decisions just stored to the followers, by names.
    func publish(_ records: [DecisionRecord], registry: Registry) {
        let current = followers.withLock { $0 }
        guard !current.isEmpty, !records.isEmpty else { return }
        let decisions = records.compactMap { record -> PublishedDecision? in
            guard let runtime = registry.resident(id: record.experimentID) else { return nil }
            let shape = runtime.shape
            let name = shape.lineages.first { $0.id == record.strategyID }?.name ?? String(record.strategyID)
            func arm(_ index: Int) -> String { index < shape.arms.count ? shape.arms[index] : String(index) }
            return PublishedDecision(
                decisionID: DecisionIdentifiers.text(record.id), tenant: runtime.tenantName, experiment: runtime.key,
                strategy: name, strategyVersion: record.modelVersion, arm: arm(record.arm), propensity: record.propensity,
                trafficShare: record.trafficShare, seed: record.seed, eligible: record.eligible.map { arm(Int($0)) },
                unitID: record.unitID, fallback: record.fallback, createdAt: record.createdAt)
        }
        for follower in current { follower(decisions) }
    }
}
