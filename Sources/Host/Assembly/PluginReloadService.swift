internal import Engine
internal import Logging
internal import ServiceLifecycle
internal import UnixSignals

/// Reloads the plugins on SIGHUP, as `POST /v1/plugins/reload` does: new
/// builds in the plugin directory are loaded, checked and put in service;
/// nothing else changes. The outcome goes to the log (and `/metrics`).
struct PluginReloadService: Service {
    let engine: Engine
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            logger.notice("SIGHUP: reloading the plugins")
            do {
                let reload = try await engine.reloadPlugins()
                for upgrade in reload.upgrades {
                    logger.notice("\(upgrade.to): \(upgrade.outcome.rawValue)\(upgrade.reason.map { ": \($0)" } ?? "")")
                }
            } catch {
                logger.error("plugin reload on SIGHUP failed: \(error)")
            }
        }
    }
}
