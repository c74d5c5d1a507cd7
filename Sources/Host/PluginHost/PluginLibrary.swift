public import Logging
internal import Synchronization

/// Every plugin version this process has loaded, and which version of each
/// strategy name is active (the one new strategies get and a reload moves
/// live strategies to). Versions are never unloaded: a Swift library cannot
/// be, so a version once loaded stays resident, and activating it again
/// (a downgrade) loads nothing.
///
/// Built from a plugin directory, each library is loaded from a private,
/// content-addressed copy under the data directory (see
/// `PluginLoader.load(file:copiesIn:resident:)`); built from a catalog, the
/// set is fixed (tests, the commands that only read).
public final class PluginLibrary: Sendable {
    /// The directory a reload scans; nil for a fixed set.
    public let directory: String?
    private let loader: PluginLoader
    private let state: Mutex<State>
    /// Upgrades put in service and refused, by strategy name.
    private let upgrades = Mutex<[String: UpgradeCounts]>([:])

    /// How many upgrades of one name were put in service and refused.
    public struct UpgradeCounts: Sendable {
        public var done = 0
        public var refused = 0
    }

    struct State {
        /// Every resident version, in the order they were loaded.
        var versions: [StrategyPlugin] = []
        var active: [String: StrategyPlugin] = [:]
        /// The files the last scan refused.
        var refused: [PluginRefusal] = []
        /// Where the content-addressed copies go; nil until `loadAll`.
        var copies: String?
        /// The active versions and the refusals, as one value.
        var catalog = PluginCatalog(plugins: [], refused: [])

        mutating func publish() {
            catalog = PluginCatalog(plugins: active.values.sorted { $0.name < $1.name }, refused: refused)
        }
    }

    /// A fixed set: the catalog's plugins, each active.
    public init(catalog: PluginCatalog) {
        directory = nil
        loader = PluginLoader()
        var state = State()
        state.versions = catalog.plugins
        for plugin in catalog.plugins { state.active[plugin.name] = plugin }
        state.refused = catalog.refused
        state.publish()
        self.state = Mutex(state)
    }

    /// The plugins of `directory`, loaded by `loadAll(copiesIn:)`.
    public init(directory: String, logger: Logger = Logger(label: "arbiter.plugins")) {
        self.directory = directory
        loader = PluginLoader(logger: logger)
        state = Mutex(State())
    }

    /// The active version of each strategy name, and the files refused.
    public var catalog: PluginCatalog {
        state.withLock { $0.catalog }
    }

    /// Every resident version, in the order they were loaded.
    public var versions: [StrategyPlugin] {
        state.withLock { $0.versions }
    }

    /// The active version of a strategy name.
    public func active(named name: String) -> StrategyPlugin? {
        state.withLock { $0.active[name] }
    }

    /// The resident build of `name` at `version` (the last loaded, when
    /// there are several), or nil.
    public func version(named name: String, version: String) -> StrategyPlugin? {
        state.withLock { $0.versions.last { $0.name == name && $0.version.description == version } }
    }

    /// The plugin a strategy runs: the version it is pinned to, else the active one.
    public func plugin(named name: String, pinned version: String?) -> StrategyPlugin? {
        version.map { self.version(named: name, version: $0) } ?? active(named: name)
    }

    /// Whether `plugin` is the active version of its name.
    public func isActive(_ plugin: StrategyPlugin) -> Bool {
        state.withLock { $0.active[plugin.name] === plugin }
    }

    /// The resident versions of a strategy name, oldest loaded first.
    public func versions(named name: String) -> [StrategyPlugin] {
        state.withLock { $0.versions.filter { $0.name == name } }
    }

    /// Loads every library of the directory from its copy in `copies`; the
    /// newest version of each name becomes active. Start-up only.
    public func loadAll(copiesIn copies: String) {
        guard let directory else { return }
        let scan = load(directory, copies: copies)
        state.withLock { state in
            for plugin in scan.added {
                if let current = state.active[plugin.name], current.version >= plugin.version { continue }
                state.active[plugin.name] = plugin
            }
            state.publish()
        }
        for plugin in catalog.plugins {
            loader.logger.info("plugin active: \(plugin.label), ABI \(plugin.abiVersion), state format \(plugin.stateFormatVersion), from \(plugin.path)")
        }
    }

    /// What a scan of the directory found.
    public struct Scan: Sendable {
        /// Versions loaded by this scan: their bytes were not resident.
        public var added: [StrategyPlugin]
        /// Files refused, with the reason.
        public var refused: [PluginRefusal]
    }

    /// Loads the directory's libraries whose bytes are not resident yet
    /// (nothing is activated: the caller checks a new version first).
    /// - Returns: nil for a fixed set, or before `loadAll`.
    public func scan() -> Scan? {
        guard let directory, let copies = state.withLock({ $0.copies }) else { return nil }
        let scan = load(directory, copies: copies)
        state.withLock { $0.publish() }
        return scan
    }

    /// Makes `plugin` (resident) the active version of its name.
    public func activate(_ plugin: StrategyPlugin) {
        state.withLock { state in
            precondition(state.versions.contains { $0 === plugin }, "only a resident version can be activated")
            state.active[plugin.name] = plugin
            state.publish()
        }
    }

    /// Counts an upgrade of `name`, done or refused (for `/metrics`).
    public func recordUpgrade(of name: String, refused: Bool) {
        upgrades.withLock { counts in
            if refused { counts[name, default: UpgradeCounts()].refused += 1 } else { counts[name, default: UpgradeCounts()].done += 1 }
        }
    }

    /// Upgrades done and refused, by strategy name.
    public var upgradeCounts: [String: UpgradeCounts] {
        upgrades.withLock { $0 }
    }

    private func load(_ directory: String, copies: String) -> Scan {
        let files: [String]
        switch loader.libraryFiles(in: directory) {
        case let .success(paths): files = paths
        case let .failure(refusal):
            state.withLock { $0.refused = [refusal]; $0.copies = copies }
            return Scan(added: [], refused: [refusal])
        }
        var known = state.withLock { state in
            state.copies = copies
            return Dictionary(state.versions.map { ($0.sha256, $0) }, uniquingKeysWith: { first, _ in first })
        }
        var added: [StrategyPlugin] = []
        var refused: [PluginRefusal] = []
        for file in files {
            switch loader.load(file: file, copiesIn: copies, resident: known) {
            case let .success(plugin):
                guard known[plugin.sha256] == nil else { continue }
                known[plugin.sha256] = plugin
                loader.logger.info("plugin loaded: \(plugin.label) from \(file) (copy \(plugin.loadedFrom))")
                added.append(plugin)
            case let .failure(refusal):
                refused.append(refusal)
            }
        }
        state.withLock { state in
            state.versions += added
            state.refused = refused
        }
        return Scan(added: added, refused: refused)
    }
}
