public import ArbiterABI

/// Turns a `SelectionStrategy` into a plugin behind the C ABI. A Swift plugin's
/// whole entry point is:
///
/// ```swift
/// @_cdecl("arbiter_strategy_entry_v1")
/// public func arbiterStrategyEntry(
///     host: UnsafePointer<arbiter_host_api>?,
///     vtable: UnsafeMutablePointer<arbiter_strategy_vtable>?,
///     error: UnsafeMutablePointer<arbiter_error>?
/// ) -> arbiter_status {
///     StrategyExport.entry(MyStrategy.self, host: host, vtable: vtable, error: error)
/// }
/// ```
///
/// The kit keeps no global state: everything a call needs travels in the
/// vtable's `plugin` pointer or in the instance handle, so several plugins
/// built with the kit live side by side in one process.
public enum StrategyExport {
    /// Fills `vtable` for `strategy`. Returns `ARBITER_OK`, or an error when the
    /// host passed no vtable or speaks another ABI major.
    public static func entry(
        _ strategy: any SelectionStrategy.Type,
        host: UnsafePointer<arbiter_host_api>?,
        vtable: UnsafeMutablePointer<arbiter_strategy_vtable>?,
        error: UnsafeMutablePointer<arbiter_error>?
    ) -> arbiter_status {
        guard let vtable else {
            return fail(.invalidArgument("no vtable to fill"), error)
        }
        if let host, host.pointee.abi_major != UInt16(ARBITER_ABI_MAJOR) {
            return fail(.invalidArgument("host speaks ABI major \(host.pointee.abi_major), plugin speaks \(ARBITER_ABI_MAJOR)"), error)
        }
        let plugin = PluginBox(strategy, host: host)
        var table = arbiter_strategy_vtable()
        table.abi_major = UInt16(ARBITER_ABI_MAJOR)
        table.abi_minor = UInt16(ARBITER_ABI_MINOR)
        table.language = UInt32(ARBITER_LANGUAGE_SWIFT)
        table.toolchain = UnsafePointer(plugin.toolchain)
        table.plugin = Unmanaged.passRetained(plugin).toOpaque()
        table.describe = describeThunk
        table.create = createThunk
        table.destroy = destroyThunk
        table.arm_count = armCountThunk
        table.add_arms = addArmsThunk
        table.select = selectThunk
        table.select_batch = selectBatchThunk
        table.update = updateThunk
        table.serialize = serializeThunk
        table.deserialize = deserializeThunk
        table.inspect = inspectThunk
        table.probabilities = probabilitiesThunk
        table.struct_size = UInt32(copyPrefix(of: table, into: vtable, hostSize: vtable.pointee.struct_size))
        vtable.pointee.struct_size = table.struct_size
        return ARBITER_OK
    }
}

/// Copies the part of `value` that fits in the host's `hostSize`, the growth
/// rule of every ABI struct. Returns the number of bytes copied.
func copyPrefix<T>(of value: T, into destination: UnsafeMutablePointer<T>, hostSize: UInt32) -> Int {
    let count = min(Int(hostSize), MemoryLayout<T>.size)
    withUnsafeBytes(of: value) { source in
        UnsafeMutableRawPointer(destination).copyMemory(from: source.baseAddress!, byteCount: count)
    }
    return count
}

/// Writes `error`'s message into the host's buffer and returns its status.
func fail(_ error: StrategyError, _ buffer: UnsafeMutablePointer<arbiter_error>?) -> arbiter_status {
    arbiter_error_set(buffer, error.message)
    return error.status
}

/// Runs `body`, turning a thrown `StrategyError` into its status and message.
func guarded(_ buffer: UnsafeMutablePointer<arbiter_error>?, _ body: () throws(StrategyError) -> Void) -> arbiter_status {
    do {
        try body()
        return ARBITER_OK
    } catch {
        return fail(error, buffer)
    }
}
