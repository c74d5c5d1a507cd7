public import Storage

extension Engine {
    /// A page of the audit trail, newest first: of one experiment of the
    /// tenant, or (no key) of the whole tenant together with the plugin
    /// changes, which belong to every tenant.
    /// - Parameters:
    ///   - cursor: where the page starts (the `next` of the page before).
    ///   - limit: 1 to 1,000 entries.
    public func auditTrail(tenant: String, experiment key: String? = nil, after cursor: String? = nil,
                           limit: Int = Page<AuditRecord>.defaultLimit) throws(EngineError) -> Page<AuditRecord> {
        guard let tenantRecord = registry.tenant(named: tenant) else { throw .unknownTenant(tenant) }
        var experimentID: Int64?
        if let key {
            guard let id = registry.experimentID(tenantID: tenantRecord.id, key: key) else { throw .unknownExperiment(key) }
            experimentID = id
        }
        let below = try Page<AuditRecord>.position(cursor)
        try Page<AuditRecord>.check(limit)
        return try read { store in
            let records = try store.auditTrail(experimentID: experimentID, tenantID: tenantRecord.id,
                                               before: below == 0 ? nil : below, limit: limit + 1)
            let page = Array(records.prefix(limit))
            return Page(items: page, next: records.count > limit ? page.last.map { String($0.id) } : nil)
        }
    }
}
