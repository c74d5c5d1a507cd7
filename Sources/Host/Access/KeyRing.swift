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
/// revoked with `arbiter keys` (another process) is refused within a second
/// without a database read per request; a key created there works at once.
///
/// The first request with a key pays for SHA-256 of its secret; the secret,
/// once it hashed to the stored digest, is kept in this process's memory (never
/// on disk) and later requests with that key compare against it in constant
/// time instead of hashing again. A secret that does not match is never kept.
public final class KeyRing: Sendable {
    /// A key as the cache keeps it: the record, its stored hash decoded, and
    /// its secret once a request proved it. Immutable, so a request takes it
    /// out of the cache with one reference (a proven secret replaces the entry).
    private final class CachedKey: Sendable {
        let record: APIKeyRecord
        let principal: Principal
        let digest: [UInt8]
        let verifiedSecret: [UInt8]?

        init(_ record: APIKeyRecord, verifiedSecret: [UInt8]? = nil) {
            self.record = record
            principal = Principal(keyID: record.id, tenantID: record.tenantID, admin: record.admin)
            digest = APIKey.digest(hex: record.secretHash) ?? []
            self.verifiedSecret = verifiedSecret
        }

        func proven(_ secret: [UInt8]) -> CachedKey {
            CachedKey(record, verifiedSecret: secret)
        }
    }

    private struct Cache {
        /// By key id, read as a number (`APIKey.numericID`).
        var keys: [UInt64: CachedKey] = [:]
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
        guard var header, !header.isEmpty else { throw .missing }
        let outcome = header.withUTF8 { value -> Result<Principal, AuthenticationFailure> in
            guard let (id, secret) = APIKey.parse(authorization: value) else { return .failure(.malformed) }
            return Result { () throws(AuthenticationFailure) in try principal(id: id, secret: secret) }
        }
        return try outcome.get()
    }

    private func principal(id: UInt64, secret: UnsafeBufferPointer<UInt8>) throws(AuthenticationFailure) -> Principal {
        guard let cached = try? cachedKey(id: id) else { throw .unknown }
        if let verified = cached.verifiedSecret {
            let equal = verified.withUnsafeBytes { constantTimeEqual($0, UnsafeRawBufferPointer(secret)) }
            guard equal else { throw .unknown }
        } else {
            guard APIKey.secret(secret, hashesTo: cached.digest) else { throw .unknown }
            let proven = cached.proven(Array(secret))
            cache.withLock { cache in
                if cache.keys[id]?.record == cached.record { cache.keys[id] = proven }
            }
        }
        guard cached.record.revokedAt == nil else { throw .revoked }
        return cached.principal
    }

    /// Whether any key exists at all (the server creates a first one when not).
    public func isEmpty() throws -> Bool {
        try reload()
        return cache.withLock { $0.keys.isEmpty }
    }

    /// The key with that id. The cache is reloaded when it is older than
    /// `freshness` (so a revocation elsewhere takes effect within it). A miss
    /// in a fresh cache may be a key just created elsewhere: that one key is
    /// read by its primary key, so it works on its first request (and an
    /// unknown key costs one indexed read, never a reload of every key).
    private func cachedKey(id: UInt64) throws -> CachedKey? {
        let now = ContinuousClock.now
        let (cached, age) = cache.withLock { cache in (cache.keys[id], cache.loadedAt.map { now - $0 }) }
        guard let age, age <= freshness else {
            try reload()
            return cache.withLock { $0.keys[id] }
        }
        if let cached { return cached }
        guard let record = try store.withLock({ try $0.apiKey(id: APIKey.textID(id)) }) else { return nil }
        let entry = CachedKey(record)
        cache.withLock { $0.keys[id] = entry }
        return entry
    }

    /// Forgets the cache, so the next request reads the keys again (after
    /// this process created one).
    public func invalidate() {
        cache.withLock { $0.loadedAt = nil }
    }

    /// Reads every key again. A proven secret survives the reload while its
    /// key's record is unchanged (a revoked key's record changed).
    private func reload() throws {
        let records = try store.withLock { try $0.apiKeys() }
        cache.withLock { cache in
            var keys: [UInt64: CachedKey] = [:]
            for record in records {
                guard let id = APIKey.numericID(record.id) else { continue }
                if let previous = cache.keys[id], previous.record == record {
                    keys[id] = previous
                } else {
                    keys[id] = CachedKey(record)
                }
            }
            cache.keys = keys
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
            guard let record = try store.tenant(named: tenant, creating: TenantRecord.initialDefaultStrategy) else { throw AuthenticationFailure.unknown }
            let key = APIKey.generate()
            try store.insertAPIKey(APIKeyRecord(id: key.id, tenantID: record.id, secretHash: key.secretHash, admin: admin,
                                                label: label, createdAt: Store.now(), revokedAt: nil))
            return (key, record)
        }
    }
}
