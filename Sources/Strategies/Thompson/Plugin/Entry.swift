public import ArbiterABI
import ArbiterStrategyKit
import ThompsonStrategy

/// The plugin's one exported symbol.
@_cdecl("arbiter_strategy_entry_v1")
public func arbiterStrategyEntry(
    host: UnsafePointer<arbiter_host_api>?,
    vtable: UnsafeMutablePointer<arbiter_strategy_vtable>?,
    error: UnsafeMutablePointer<arbiter_error>?
) -> arbiter_status {
    StrategyExport.entry(ThompsonSampling.self, host: host, vtable: vtable, error: error)
}
