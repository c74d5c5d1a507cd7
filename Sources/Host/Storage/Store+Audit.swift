internal import SQLite

/// One entry of the audit trail: a change to an experiment, a tenant's
/// defaults or the plugins.
public struct AuditRecord: Sendable, Equatable {
    public var id: Int64
    /// Milliseconds since 1970.
    public var at: Int64
    /// The id of the API key that made the change (never its secret); nil
    /// for the host's own (a reload on SIGHUP).
    public var actor: String?
    /// The tenant the change belongs to; nil for the plugins (shared by all).
    public var tenantID: Int64?
    /// The experiment it is about, if one.
    public var experimentID: Int64?
    /// What it is about, by name: the experiment's key, the plugin's name,
    /// the tenant's name.
    public var subject: String
    /// What was done, e.g. `experiment.update`, `plugin.upgrade`.
    public var action: String
    /// The state before and after, as JSON text; nil where there is none.
    public var before: String?
    public var after: String?

    public init(id: Int64 = 0, at: Int64, actor: String?, tenantID: Int64?, experimentID: Int64?, subject: String,
                action: String, before: String?, after: String?) {
        self.id = id
        self.at = at
        self.actor = actor
        self.tenantID = tenantID
        self.experimentID = experimentID
        self.subject = subject
        self.action = action
        self.before = before
        self.after = after
    }
}

extension Store {
    /// Appends an entry to the audit trail (inside the change's transaction
    /// where the change has one).
    public func insertAudit(_ record: AuditRecord) throws {
        try database.with("""
            INSERT INTO audit_trail (at, actor, tenant_id, experiment_id, subject, action, before, after)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """) { s throws(SQLiteError) in
            try s.bind(1, record.at)
            try s.bind(2, record.actor)
            try s.bind(3, record.tenantID)
            try s.bind(4, record.experimentID)
            try s.bind(5, record.subject)
            try s.bind(6, record.action)
            try s.bind(7, record.before)
            try s.bind(8, record.after)
            try s.step()
        }
    }

    /// Entries newest first, below the id `before` (nil: from the newest),
    /// at most `limit`: of one experiment, or of a tenant together with the
    /// plugins' (which belong to no tenant).
    public func auditTrail(experimentID: Int64? = nil, tenantID: Int64? = nil, before: Int64?, limit: Int) throws -> [AuditRecord] {
        let filter = experimentID != nil ? "experiment_id = ?1" : "(tenant_id = ?1 OR tenant_id IS NULL)"
        let sql = """
            SELECT id, at, actor, tenant_id, experiment_id, subject, action, before, after FROM audit_trail
            WHERE \(filter) AND id < ?2 ORDER BY id DESC LIMIT ?3
            """
        return try database.with(sql) { s throws(SQLiteError) in
            try s.bind(1, experimentID ?? tenantID ?? -1)
            try s.bind(2, before ?? Int64.max)
            try s.bind(3, limit)
            var records: [AuditRecord] = []
            while try s.step() {
                records.append(AuditRecord(
                    id: s.int64(0), at: s.int64(1), actor: s.isNull(2) ? nil : s.string(2),
                    tenantID: s.isNull(3) ? nil : s.int64(3), experimentID: s.isNull(4) ? nil : s.int64(4),
                    subject: s.string(5), action: s.string(6), before: s.isNull(7) ? nil : s.string(7),
                    after: s.isNull(8) ? nil : s.string(8)))
            }
            return records
        }
    }
}
