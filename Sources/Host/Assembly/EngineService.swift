internal import ServiceLifecycle
internal import Engine
internal import Logging

/// Runs the engine's updater (the micro-batch writer) beside the other
/// services: it is started first and stopped last, so on graceful shutdown
/// (SIGTERM, SIGINT), after the HTTP server has stopped accepting and
/// answered its in-flight requests, it drains the queues and saves every strategy.
struct EngineService: Service {
    let engine: Engine
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        logger.info("shutting down: draining the feedback queue and saving every strategy")
        await engine.shutdown()
        logger.info("engine stopped")
    }
}
