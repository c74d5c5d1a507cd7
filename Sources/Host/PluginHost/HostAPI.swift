internal import ArbiterABI
internal import Logging

/// The host API table handed to every plugin, allocated once and never freed
/// (plugins may keep the pointer for the life of the process).
enum HostAPI {
    static let logger = Logger(label: "arbiter.plugin")

    nonisolated(unsafe) static let table: UnsafePointer<arbiter_host_api> = {
        let table = UnsafeMutablePointer<arbiter_host_api>.allocate(capacity: 1)
        table.initialize(to: arbiter_host_api(
            struct_size: UInt32(MemoryLayout<arbiter_host_api>.size),
            abi_major: UInt16(ARBITER_ABI_MAJOR),
            abi_minor: UInt16(ARBITER_ABI_MINOR),
            context: nil,
            log: { _, level, message in
                guard let message else { return }
                let text = String(cString: message)
                switch level {
                case Int32(ARBITER_LOG_DEBUG): HostAPI.logger.debug("\(text)")
                case Int32(ARBITER_LOG_INFO): HostAPI.logger.info("\(text)")
                case Int32(ARBITER_LOG_WARNING): HostAPI.logger.warning("\(text)")
                default: HostAPI.logger.error("\(text)")
                }
            }
        ))
        return UnsafePointer(table)
    }()
}

/// The build signature of this host: Swift plugins must carry the same one.
public let hostToolchainSignature = String(cString: arbiter_swift_toolchain_signature())

/// The ABI version this host speaks, "major.minor".
public let hostABIVersion = "\(ARBITER_ABI_MAJOR).\(ARBITER_ABI_MINOR)"
