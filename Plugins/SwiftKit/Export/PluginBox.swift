internal import ArbiterABI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the vtable's `plugin` pointer refers to: the strategy type, the host's
/// API table and the C strings `describe` hands out. Created once per entry
/// call and never freed (plugins are never unloaded, so their strings must
/// outlive every caller).
final class PluginBox {
    let strategy: any SelectionStrategy.Type
    let descriptor: StrategyDescriptor
    let host: UnsafePointer<arbiter_host_api>?
    let name: UnsafeMutablePointer<CChar>
    let version: UnsafeMutablePointer<CChar>
    let summary: UnsafeMutablePointer<CChar>
    let parametersJSON: UnsafeMutablePointer<CChar>
    let toolchain: UnsafeMutablePointer<CChar>
    /// The parsed default configuration (or why the specs' defaults do not
    /// validate): every experiment created on first use asks for it, and
    /// parsing it again each time was a tenth of a creation's cost.
    private let defaults: Result<StrategyParameters, StrategyError>

    init(_ strategy: any SelectionStrategy.Type, host: UnsafePointer<arbiter_host_api>?) {
        self.strategy = strategy
        self.descriptor = strategy.descriptor
        self.host = host
        self.name = strdup(descriptor.name)
        self.version = strdup(descriptor.version)
        self.summary = strdup(descriptor.summary)
        self.parametersJSON = strdup(parametersDocument(descriptor))
        self.toolchain = strdup(String(cString: arbiter_swift_toolchain_signature()))
        let specs = strategy.descriptor.parameters
        self.defaults = Result(catching: { () throws(StrategyError) in try StrategyParameters(json: "", specs: specs) })
    }

    /// Logs through the host, if the host offered logging.
    func log(_ level: Int32, _ message: String) {
        guard let host, host.pointee.struct_size >= UInt32(MemoryLayout<arbiter_host_api>.size),
              let log = host.pointee.log else { return }
        log(host.pointee.context, level, "\(descriptor.name): \(message)")
    }

    /// Parses a configuration against this strategy's parameter specs.
    func parameters(_ json: UnsafePointer<CChar>?) throws(StrategyError) -> StrategyParameters {
        // The defaults: no configuration, an empty one or exactly `{}`.
        guard let json, json[0] != 0, !(json[0] == 0x7B && json[1] == 0x7D && json[2] == 0) else { return try defaults.get() }
        return try StrategyParameters(json: String(cString: json), specs: descriptor.parameters)
    }
}

/// What an `arbiter_instance` handle refers to.
final class InstanceBox {
    let strategy: any SelectionStrategy
    let plugin: PluginBox

    init(_ strategy: any SelectionStrategy, plugin: PluginBox) {
        self.strategy = strategy
        self.plugin = plugin
    }

    var handle: OpaquePointer { OpaquePointer(Unmanaged.passRetained(self).toOpaque()) }

    static func from(_ handle: OpaquePointer) -> InstanceBox {
        Unmanaged<InstanceBox>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }

    /// Runs `body` with the strategy behind `handle`, without retaining it (the
    /// host owns the instance for the whole call): the hot paths use this.
    static func withStrategy<Result>(_ handle: OpaquePointer, _ body: (any SelectionStrategy, PluginBox) -> Result) -> Result {
        Unmanaged<InstanceBox>.fromOpaque(UnsafeRawPointer(handle))._withUnsafeGuaranteedRef { box in
            body(box.strategy, box.plugin)
        }
    }
}

extension PluginBox {
    static func from(_ pointer: UnsafeMutableRawPointer) -> PluginBox {
        Unmanaged<PluginBox>.fromOpaque(pointer).takeUnretainedValue()
    }
}
