public import Storage
internal import Synchronization

/// Who a request acts for, once its key checked out.
public struct Principal: Sendable, Equatable {
    public var keyID: String
    public var tenantID: Int64
    public var admin: Bool
}

/// Why a key was refused.
public enum AuthenticationFailure: Error, Sendable, Equatable {
    case missing
    case malformed
    case unknown
    case revoked
}

/// The API keys, read from the database and cached for a second, so a key
/// created or revoked with `arbiter keys` (another process) takes effect
/// within a second without a database read per request.
public final class KeyRing: Sendable {
    /// A key as the cache keeps it: the record and its stored hash decoded.
    private struct CachedKey {
        var record: APIKeyRecord
        var digest: [UInt8]
    }

    private struct Cache {
        var keys: [String: CachedKey] = [:]
        var loadedAt: ContinuousClock.Instant?
    }

    private let store: Mutex<Store>
    private let cache = Mutex(Cache())
    private let freshness: Duration

    /// Opens its own connection to the database at `path`.
    public init(databasePath path: String, freshness: Duration = .seconds(1)) throws {
        store = Mutex(try Store(path: path, migrate: false))
        self.freshness = freshness
    }

    /// The principal of an `Authorization` header value (`Bearer <token>`).
    public func authenticate(header: String?) throws(AuthenticationFailure) -> Principal {
        guard let header, !header.isEmpty else { throw .missing }
        // "Bearer <token>", the scheme case-insensitive.
        let utf8 = header.utf8
        guard utf8.count > 7, utf8.prefix(6).map({ $0 | 0x20 }).elementsEqual("bearer".utf8),
              utf8[utf8.index(utf8.startIndex, offsetBy: 6)] == UInt8(ascii: " "),
              let key = APIKey(token: String(header.dropFirst(7))) else {
            throw .malformed
        }
        guard let cached = try? cachedKey(id: key.id), key.matches(storedDigest: cached.digest) else {
            throw .unknown
        }
        guard cached.record.revokedAt == nil else { throw .revoked }
        return Principal(keyID: cached.record.id, tenantID: cached.record.tenantID, admin: cached.record.admin)
    }

    /// Whether any key exists at all (the server creates a first one when not).
    public func isEmpty() throws -> Bool {
        try reload()
        return cache.withLock { $0.keys.isEmpty }
    }

    /// The key with that id. The cache is reloaded when it is older than
    /// `freshness`, or on a miss (a key just created elsewhere) when it is
    /// older than 50 ms, so unknown keys cannot make every request read the
    /// database.
    private func cachedKey(id: String) throws -> CachedKey? {
        let now = ContinuousClock.now
        let (record, age) = cache.withLock { cache in (cache.keys[id], cache.loadedAt.map { now - $0 }) }
        let stale = age.map { $0 > freshness } ?? true
        let missWorthReloading = record == nil && (age.map { $0 > .milliseconds(50) } ?? true)
        guard stale || missWorthReloading else { return record }
        try reload()
        return cache.withLock { $0.keys[id] }
    }

    /// Forgets the cache, so the next request reads the keys again (after
    /// this process created one).
    public func invalidate() {
        cache.withLock { $0.loadedAt = nil }
    }

    private func reload() throws {
        let keys = try store.withLock { try $0.apiKeys() }
        cache.withLock { cache in
            cache.keys = Dictionary(keys.map { ($0.id, CachedKey(record: $0, digest: APIKey.digest(hex: $0.secretHash) ?? [])) },
                                    uniquingKeysWith: { $1 })
            cache.loadedAt = .now
        }
    }
}

/// Creating, listing and revoking keys (the `arbiter keys` subcommand).
public enum KeyAdministration {
    /// Creates a key for `tenant` (creating the tenant when missing) and
    /// returns it: the only time its secret is visible.
    public static func create(in store: Store, tenant: String, admin: Bool, label: String?) throws -> (APIKey, TenantRecord) {
        try store.transaction {
            guard let record = try store.tenant(named: tenant, creating: "thompson") else { throw AuthenticationFailure.unknown }
            let key = APIKey.generate()
            try store.insertAPIKey(APIKeyRecord(id: key.id, tenantID: record.id, secretHash: key.secretHash, admin: admin,
                                                label: label, createdAt: Store.now(), revokedAt: nil))
            return (key, record)
        }
    }
}
