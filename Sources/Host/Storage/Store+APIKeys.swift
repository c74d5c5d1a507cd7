internal import SQLite

/// A stored API key: only the hash of its secret is kept.
public struct APIKeyRecord: Sendable, Equatable {
    /// The public part of the key, shown in listings.
    public var id: String
    public var tenantID: Int64
    /// SHA-256 of the secret, hex.
    public var secretHash: String
    /// Admin keys may manage experiments and plugins.
    public var admin: Bool
    public var label: String?
    public var createdAt: Int64
    public var revokedAt: Int64?

    public init(id: String, tenantID: Int64, secretHash: String, admin: Bool, label: String?, createdAt: Int64, revokedAt: Int64?) {
        self.id = id
        self.tenantID = tenantID
        self.secretHash = secretHash
        self.admin = admin
        self.label = label
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

extension Store {
    public func insertAPIKey(_ key: APIKeyRecord) throws {
        try database.with("INSERT INTO api_keys (id, tenant_id, secret_hash, admin, label, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)") { s throws(SQLiteError) in
            try s.bind(1, key.id)
            try s.bind(2, key.tenantID)
            try s.bind(3, key.secretHash)
            try s.bind(4, key.admin ? 1 : 0)
            try s.bind(5, key.label)
            try s.bind(6, key.createdAt)
            try s.step()
        }
    }

    /// Every key, revoked ones included, oldest first.
    public func apiKeys() throws -> [APIKeyRecord] {
        try database.with("SELECT id, tenant_id, secret_hash, admin, label, created_at, revoked_at FROM api_keys ORDER BY created_at, id") { s throws(SQLiteError) in
            var rows: [APIKeyRecord] = []
            while try s.step() {
                rows.append(Self.apiKey(s))
            }
            return rows
        }
    }

    /// The key with that id, revoked or not; nil when there is none.
    public func apiKey(id: String) throws -> APIKeyRecord? {
        try database.with("SELECT id, tenant_id, secret_hash, admin, label, created_at, revoked_at FROM api_keys WHERE id = ?") { s throws(SQLiteError) in
            try s.bind(1, id)
            return try s.step() ? Self.apiKey(s) : nil
        }
    }

    private static func apiKey(_ s: Statement) -> APIKeyRecord {
        APIKeyRecord(id: s.string(0), tenantID: s.int64(1), secretHash: s.string(2), admin: s.int(3) == 1,
                     label: s.optionalString(4), createdAt: s.int64(5), revokedAt: s.isNull(6) ? nil : s.int64(6))
    }

    /// Revokes a key; returns false when there is no such (unrevoked) key.
    public func revokeAPIKey(id: String, at time: Int64) throws -> Bool {
        try database.with("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL") { s throws(SQLiteError) in
            try s.bind(1, time)
            try s.bind(2, id)
            try s.step()
        }
        return database.changes == 1
    }

    /// The tenant of that name, created with the given default strategy when missing.
    public func tenant(named name: String, creating defaultStrategy: String? = nil) throws -> TenantRecord? {
        if let existing = try tenants().first(where: { $0.name == name }) { return existing }
        guard let defaultStrategy else { return nil }
        return try insertTenant(name: name, defaultStrategy: defaultStrategy, defaultConfig: "{}")
    }
}
