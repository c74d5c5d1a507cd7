internal import ArbiterABI
internal import Crypto
internal import FoundationEssentials
internal import JSON
public import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds and loads strategy plugins. Every fault is a refusal with a reason,
/// logged, and loading carries on with the other files.
///
/// Libraries are opened with `RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE` and never
/// closed: on Linux, `dlclose` of a library holding Swift code leaves the
/// runtime with dangling metadata records and crashes the process later, so
/// every library that was opened (loaded or refused) stays resident.
public struct PluginLoader: Sendable {
    let logger: Logger

    public init(logger: Logger = Logger(label: "arbiter.plugins")) {
        self.logger = logger
    }

    /// File name endings of shared libraries on this platform.
    #if os(macOS)
    static let libraryExtensions = [".dylib", ".so"]
    #else
    static let libraryExtensions = [".so"]
    #endif

    /// Loads every shared library in `directory`, in file-name order, then
    /// resolves duplicate names by keeping the newest version.
    public func loadDirectory(_ directory: String) -> PluginCatalog {
        switch libraryFiles(in: directory) {
        case let .success(paths): load(files: paths)
        case let .failure(refusal): PluginCatalog(plugins: [], refused: [refusal])
        }
    }

    /// The shared libraries in `directory`, in file-name order.
    public func libraryFiles(in directory: String) -> Result<[String], PluginRefusal> {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            var status = stat()
            let problem = stat(directory, &status) != 0 ? "it does not exist"
                : status.st_mode & S_IFMT != S_IFDIR ? "it is not a directory" : "it cannot be read (permissions?)"
            let refusal = PluginRefusal(path: directory, reason: "cannot read the plugin directory: \(problem)")
            logger.error("\(refusal)")
            return .failure(refusal)
        }
        return .success(names
            .filter { name in Self.libraryExtensions.contains { name.hasSuffix($0) } }
            .map { directory.hasSuffix("/") ? directory + $0 : directory + "/" + $0 })
    }

    /// Loads the given library files and resolves duplicate names.
    public func load(files: [String]) -> PluginCatalog {
        var loaded: [StrategyPlugin] = []
        var refused: [PluginRefusal] = []
        for path in files {
            switch load(file: path) {
            case let .success(plugin):
                loaded.append(plugin)
            case let .failure(refusal):
                refused.append(refusal)
            }
        }
        var byName: [String: StrategyPlugin] = [:]
        for plugin in loaded {
            guard let current = byName[plugin.name] else {
                byName[plugin.name] = plugin
                continue
            }
            let (kept, dropped) = plugin.version > current.version ? (plugin, current) : (current, plugin)
            byName[plugin.name] = kept
            let reason = kept.version == dropped.version
                ? "duplicate strategy '\(dropped.name)': the same version \(dropped.version) is already loaded from \(kept.path)"
                : "duplicate strategy '\(dropped.name)': version \(dropped.version) is superseded by version \(kept.version) from \(kept.path)"
            let refusal = PluginRefusal(path: dropped.path, reason: reason)
            logger.warning("plugin refused: \(refusal)")
            refused.append(refusal)
        }
        let plugins = loaded.filter { byName[$0.name] === $0 }
        for plugin in plugins {
            logger.info("plugin loaded: \(plugin.name) \(plugin.version) (ABI \(plugin.abiVersion), state format \(plugin.stateFormatVersion)) from \(plugin.path)")
        }
        return PluginCatalog(plugins: plugins, refused: refused)
    }

    /// Loads and validates one library file, opened in place.
    public func load(file path: String) -> Result<StrategyPlugin, PluginRefusal> {
        let result = Result { () throws(PluginRefusal) in try open(path) }
        if case let .failure(refusal) = result {
            logger.error("plugin refused: \(refusal)")
        }
        return result
    }

    /// Loads one library file from its private, content-addressed copy in
    /// `copies` (`<sha256>.so`, made when missing), unless a version with
    /// the same bytes is `resident` already (by hash): that one is returned
    /// and nothing is opened. `dlopen` hands back the handle it has for a
    /// path it opened before, and a library overwritten in place while it
    /// is loaded crashes the process; a copy named by its content is never
    /// overwritten and each build gets its own path.
    public func load(file path: String, copiesIn copies: String,
                     resident: [String: StrategyPlugin]) -> Result<StrategyPlugin, PluginRefusal> {
        let result = Result { () throws(PluginRefusal) in
            let (hash, copy) = try Self.copy(path, into: copies)
            if let known = resident[hash] { return known }
            return try open(path, copy: copy, sha256: hash)
        }
        if case let .failure(refusal) = result {
            logger.error("plugin refused: \(refusal)")
        }
        return result
    }

    /// The SHA-256 (hex) of a file's bytes.
    static func sha256(of bytes: Data) -> String {
        SHA256.hash(data: bytes).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
        }.joined()
    }

    /// Copies `path` to `<copies>/<sha256>.so` unless a copy with that
    /// content is there already; returns the hash and the copy's path.
    static func copy(_ path: String, into copies: String) throws(PluginRefusal) -> (sha256: String, copy: String) {
        func refuse(_ reason: String) -> PluginRefusal { PluginRefusal(path: path, reason: reason) }
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw refuse("cannot read the file (permissions?)")
        }
        let hash = sha256(of: bytes)
        let copy = copies + "/" + hash + ".so"
        if let existing = FileManager.default.contents(atPath: copy), sha256(of: existing) == hash {
            return (hash, copy)
        }
        // Written beside, then renamed: a copy is whole or absent.
        let partial = copies + "/." + hash + ".partial"
        do {
            try FileManager.default.createDirectory(atPath: copies, withIntermediateDirectories: true)
            try bytes.write(to: URL(fileURLWithPath: partial))
            chmod(partial, 0o555)
            guard rename(partial, copy) == 0 else {
                throw refuse("cannot put its copy at \(copy): \(String(cString: strerror(errno)))")
            }
        } catch let refusal as PluginRefusal {
            throw refusal
        } catch {
            unlink(partial)
            throw refuse("cannot copy it to \(copies) (the data directory's plugin copies): \(error)")
        }
        return (hash, copy)
    }

    private func open(_ path: String, copy: String? = nil, sha256: String = "") throws(PluginRefusal) -> StrategyPlugin {
        func refuse(_ reason: String) -> PluginRefusal { PluginRefusal(path: path, reason: reason) }

        guard let handle = dlopen(copy ?? path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let detail = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw refuse("not a loadable shared library: \(detail)")
        }
        guard let symbol = dlsym(handle, "arbiter_strategy_entry_v\(ARBITER_ABI_MAJOR)") else {
            if let major = (0...32).first(where: { $0 != ARBITER_ABI_MAJOR && dlsym(handle, "\(ARBITER_ENTRY_SYMBOL_PREFIX)\($0)") != nil }) {
                throw refuse("built for plugin ABI major \(major); this host speaks ABI \(hostABIVersion) and loads only major \(ARBITER_ABI_MAJOR)")
            }
            throw refuse("no '\(ARBITER_ENTRY_SYMBOL)' symbol: not an Arbiter strategy plugin")
        }
        let entry = unsafeBitCast(symbol, to: arbiter_strategy_entry_fn.self)

        var vtable = arbiter_strategy_vtable()
        vtable.struct_size = UInt32(MemoryLayout<arbiter_strategy_vtable>.size)
        let entryFailure: String? = ErrorBuffer.with { error in
            let status = entry(HostAPI.table, &vtable, error)
            return status == ARBITER_OK ? nil : "status \(status): \(String(cString: error.pointee.message))"
        }
        if let entryFailure { throw refuse("entry point failed: \(entryFailure)") }

        guard Int32(vtable.abi_major) == ARBITER_ABI_MAJOR else {
            throw refuse("built for plugin ABI major \(vtable.abi_major); this host speaks ABI \(hostABIVersion) and loads only major \(ARBITER_ABI_MAJOR)")
        }
        // A plugin built for an earlier minor fills a shorter vtable: what it
        // lacks stays zero (absent). Shorter than ABI 1.0's is not a plugin.
        guard Int(vtable.struct_size) >= StrategyPlugin.vtableSize1_0 else {
            throw refuse("vtable of \(vtable.struct_size) bytes is smaller than ABI 1.0's \(StrategyPlugin.vtableSize1_0)")
        }
        if Int(vtable.struct_size) < MemoryLayout<arbiter_strategy_vtable>.size {
            // Bytes past struct_size are not the plugin's: keep them zero.
            let size = Int(vtable.struct_size)
            withUnsafeMutableBytes(of: &vtable) { bytes in
                for index in size..<bytes.count { bytes[index] = 0 }
            }
        }
        if Int32(vtable.abi_minor) > ARBITER_ABI_MINOR {
            logger.info("\(path) speaks ABI \(vtable.abi_major).\(vtable.abi_minor), newer than this host's \(hostABIVersion): using the \(hostABIVersion) functions")
        }
        let missing = [
            ("describe", vtable.describe == nil), ("create", vtable.create == nil), ("destroy", vtable.destroy == nil),
            ("arm_count", vtable.arm_count == nil), ("add_arms", vtable.add_arms == nil), ("select", vtable.select == nil),
            ("update", vtable.update == nil), ("serialize", vtable.serialize == nil), ("deserialize", vtable.deserialize == nil),
        ].filter(\.1).map(\.0)
        guard missing.isEmpty else {
            throw refuse("vtable lacks required functions: \(missing.joined(separator: ", "))")
        }
        let toolchain = vtable.toolchain.map { String(cString: $0) } ?? ""
        if Int32(vtable.language) == ARBITER_LANGUAGE_SWIFT, toolchain != hostToolchainSignature {
            throw refuse("Swift plugin built by another toolchain ('\(toolchain)'); this host was built by '\(hostToolchainSignature)'. Swift has no stable ABI on Linux: rebuild the plugin with the host's toolchain")
        }

        var info = arbiter_strategy_info()
        info.struct_size = UInt32(MemoryLayout<arbiter_strategy_info>.size)
        let describeFailure: String? = ErrorBuffer.with { error in
            let status = vtable.describe!(vtable.plugin, &info, error)
            return status == ARBITER_OK ? nil : "status \(status): \(String(cString: error.pointee.message))"
        }
        if let describeFailure { throw refuse("describe failed: \(describeFailure)") }
        guard Int(info.struct_size) >= MemoryLayout<arbiter_strategy_info>.size else {
            throw refuse("describe filled \(info.struct_size) bytes, less than ABI \(hostABIVersion)'s \(MemoryLayout<arbiter_strategy_info>.size)")
        }
        guard let namePointer = info.name, let versionPointer = info.version, info.parameters_json != nil else {
            throw refuse("describe left name, version or parameters_json empty")
        }
        let name = String(cString: namePointer)
        guard !name.isEmpty, name.count <= 64,
              name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) else {
            throw refuse("strategy name '\(name)' must be 1 to 64 characters of [a-z0-9-]")
        }
        let versionText = String(cString: versionPointer)
        guard let version = SemanticVersion(versionText) else {
            throw refuse("strategy '\(name)' has version '\(versionText)', which is not MAJOR.MINOR.PATCH")
        }
        guard info.state_format_version >= 1 else {
            throw refuse("strategy '\(name)' declares state format version 0; versions start at 1")
        }
        guard !info.reward_min.isNaN, !info.reward_max.isNaN, info.reward_min <= info.reward_max else {
            throw refuse("strategy '\(name)' declares an invalid reward range [\(info.reward_min), \(info.reward_max)]")
        }
        let parameters = String(cString: info.parameters_json)
        guard JSONValue(parsing: parameters)?.objectValue != nil else {
            throw refuse("strategy '\(name)' describes its parameters with something that is not a JSON object")
        }
        return StrategyPlugin(vtable: vtable, info: info, version: version, path: path, sha256: sha256, loadedFrom: copy)
    }
}

/// The plugins loaded from one scan, and the files refused.
public struct PluginCatalog: Sendable {
    /// Loaded plugins, one per strategy name, in file-name order.
    public var plugins: [StrategyPlugin]
    /// Files that were refused, with the reason.
    public var refused: [PluginRefusal]

    public init(plugins: [StrategyPlugin], refused: [PluginRefusal]) {
        self.plugins = plugins
        self.refused = refused
    }

    /// The plugin for a strategy name.
    public func plugin(named name: String) -> StrategyPlugin? {
        plugins.first { $0.name == name }
    }
}
