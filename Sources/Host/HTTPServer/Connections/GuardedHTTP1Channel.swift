internal import HummingbirdCore
internal import Logging
internal import NIOCore

/// Hummingbird's HTTP/1.1 channel with a `ConnectionGuard` on every
/// connection: its raw-bytes watcher first in the pipeline, its parts watcher
/// after the HTTP decoder.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let responder: HTTPChannelHandler.Responder
    let configuration: HTTPConfiguration
    let registry: ConnectionRegistry

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let watcher: EventLoopFuture<NIOLoopBound<PartsWatcher>> = channel.eventLoop.makeCompletedFuture {
            let watched = ConnectionGuard(channel: channel, configuration: configuration, registry: registry)
            try channel.pipeline.syncOperations.addHandler(RawBytesWatcher(watched))
            return NIOLoopBound(PartsWatcher(watched), eventLoop: channel.eventLoop)
        }
        return watcher.flatMap { parts in
            // Handlers are made for this connection, on its event loop.
            let handlers = UncheckedHandlers([parts.value])
            return HTTP1Channel(responder: responder, configuration: .init(additionalChannelHandlers: handlers.handlers))
                .setup(channel: channel, logger: logger)
        }.flatMapThrowing { value in
            // The parts watcher does what Hummingbird's connection state
            // handler does (idle timeout, quiescing) and more: one handler
            // instead of two on every request's way.
            let operations = channel.pipeline.syncOperations
            operations.removeHandler(context: try operations.context(handlerType: HTTPConnectionStateHandler.self), promise: nil)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await HTTP1Channel(responder: responder).handle(value: value, logger: logger)
    }
}

/// Channel handlers made for one connection on its event loop and added to
/// its pipeline there: Hummingbird's configuration asks for a `Sendable`
/// closure that returns them.
private struct UncheckedHandlers: @unchecked Sendable {
    let handlers: [any RemovableChannelHandler]

    init(_ handlers: [any RemovableChannelHandler]) {
        self.handlers = handlers
    }
}
