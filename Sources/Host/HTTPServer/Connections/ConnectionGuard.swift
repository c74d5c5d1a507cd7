internal import HTTPTypes
internal import NIOCore
internal import NIOHTTPTypes
internal import PluginHost

/// One connection's deadlines and answers to clients that do not behave like
/// curl, on the connection's event loop:
///
/// - a request head must arrive within `headerTimeout` of its first byte
///   (a client trickling it gets 408 and the connection closes);
/// - a connection with no request in progress closes after `idleTimeout`, and
///   so does one whose request body pauses that long;
/// - an answer sent before its request's body was read (413, or a route that
///   needs no body) is followed by reading and discarding the rest of the body,
///   up to `discardBodyBytes` and `discardBodyTimeout`: a client that writes
///   its whole body before it reads (Python's urllib and requests, Go, Java)
///   then gets the answer instead of blocking on a full socket;
/// - a request with `Connection: close` is answered with `Connection: close`,
///   and the connection closes once the answer is written and the body read
///   (Hummingbird itself stops reading such a request's body, which leaves
///   those clients blocked).
///
/// It sees the connection twice: raw bytes before the HTTP decoder
/// (`RawBytesWatcher`), request and response parts after it (`PartsWatcher`).
/// Both run on the event loop, so the state needs no lock.
final class ConnectionGuard {
    private let channel: any Channel
    private let configuration: HTTPConfiguration
    private let registry: ConnectionRegistry
    private var record: ConnectionRegistry.Record?
    private var rawContext: ChannelHandlerContext?

    /// Request heads, request ends and response ends seen: requests are
    /// answered in order, so the answer `responses` is for the request
    /// `responses`, whose body is still arriving when `ends < responses`.
    private var heads = 0
    private var ends = 0
    private var responses = 0
    /// Bytes of a request head have arrived; the head is not complete.
    private var headStarted = false
    /// A request asked for the connection to close after its answer.
    private(set) var closeRequested = false
    /// Bytes read and discarded since an answer went out before its body was read.
    private var discarded = 0
    private var closing = false

    /// What happens when the deadline passes.
    private enum Expiry {
        /// Close: an idle connection, a paused body, a discard taking too long.
        case close
        /// Answer 408 and close: a request head too slow to arrive.
        case headerTimeout
    }

    /// The current deadline; none while the server is answering. Changing it
    /// is a store, not a timer: a tick checks it (see `tick`), so a request
    /// costs no timer of its own.
    private var deadline: (at: NIODeadline, expiry: Expiry)?
    private var ticker: Scheduled<Void>?

    init(channel: any Channel, configuration: HTTPConfiguration, registry: ConnectionRegistry) {
        self.channel = channel
        self.configuration = configuration
        self.registry = registry
    }

    // MARK: Events

    func activated(_ context: ChannelHandlerContext) {
        guard record == nil else { return }
        rawContext = context
        record = registry.opened(channel)
        becomeIdle()
        tick()
    }

    func deactivated() {
        ticker?.cancel()
        ticker = nil
        deadline = nil
        registry.closed(channel)
    }

    /// Bytes arrived (before decoding).
    func bytesArrived(_ count: Int) {
        if ends < responses {
            // Discarding the rest of a body already answered.
            discarded += count
            if discarded > configuration.discardBodyBytes { close() }
        } else if heads > ends {
            // A body is arriving: it may pause, but not for long.
            deadline = (.now() + configuration.idleTimeout.timeAmount, .close)
        } else if !headStarted {
            // The first bytes of a request head.
            headStarted = true
            let now = NIODeadline.now()
            record?.set(.head, at: now)
            deadline = (now + configuration.headerTimeout.timeAmount, .headerTimeout)
        }
    }

    /// A request head was decoded; `close` when it asked for `Connection: close`.
    func requestHead(close: Bool) {
        heads += 1
        headStarted = false
        closeRequested = closeRequested || close
        let now = NIODeadline.now()
        record?.set(.busy, at: now)
        deadline = (now + configuration.idleTimeout.timeAmount, .close)
    }

    /// A request's body ended.
    func requestEnd() {
        ends += 1
        if ends == responses {
            // The body of a request answered early is read: carry on, or close
            // if asked to.
            if closeRequested { close() } else { becomeIdleIfDone() }
        } else {
            deadline = nil
        }
    }

    /// What to do once an answer's last part is written.
    enum AfterResponse {
        case keepOpen
        case close
    }

    /// An answer's last part is being written.
    func responseEnd() -> AfterResponse {
        responses += 1
        if ends < responses {
            // Answered before its body was read: read and discard the rest.
            discarded = 0
            deadline = (.now() + configuration.discardBodyTimeout.timeAmount, .close)
            return .keepOpen
        }
        if closeRequested { return .close }
        becomeIdleIfDone()
        return .keepOpen
    }

    /// The server is shutting down: close now if no request is in progress,
    /// else after its answer.
    func quiesce() {
        if heads == responses, !headStarted {
            close()
        } else {
            closeRequested = true
        }
    }

    // MARK: Deadlines

    private func becomeIdleIfDone() {
        guard responses == heads, heads == ends, !headStarted else { return }
        becomeIdle()
    }

    private func becomeIdle() {
        let now = NIODeadline.now()
        record?.set(.idle, at: now)
        deadline = (now + configuration.idleTimeout.timeAmount, .close)
    }

    /// How often the deadline is checked: a quarter of the shortest timeout,
    /// between 50 ms and 1 s, so a deadline is acted on at most that late.
    private var tickInterval: TimeAmount {
        let shortest = [configuration.headerTimeout, configuration.idleTimeout, configuration.discardBodyTimeout].min()!
        return .nanoseconds(min(max(shortest.nanoseconds / 4, 50_000_000), 1_000_000_000))
    }

    /// Checks the deadline, then checks again a tick later.
    private func tick() {
        if let deadline, NIODeadline.now() >= deadline.at {
            self.deadline = nil
            switch deadline.expiry {
            case .close: close()
            case .headerTimeout: headerTimedOut()
            }
        }
        guard !closing else { return }
        let loop = channel.eventLoop.assumeIsolatedUnsafeUnchecked()
        ticker = loop.scheduleTask(in: tickInterval) { [self] in tick() }
    }

    /// A request head that did not arrive in time: 408, then close.
    private func headerTimedOut() {
        guard let rawContext, !closing else { return }
        let body = #"{"error":{"code":"request_timeout","message":"the request head did not arrive within the header timeout","status":408}}"#
        let answer = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
        closing = true
        rawContext.writeAndFlush(NIOAny(ByteBuffer(string: answer))).whenComplete { [channel] _ in
            channel.close(promise: nil)
        }
    }

    func close() {
        guard !closing else { return }
        closing = true
        ticker?.cancel()
        ticker = nil
        channel.close(promise: nil)
    }
}

extension Duration {
    /// The duration as NIO's time amount.
    var timeAmount: TimeAmount { .nanoseconds(nanoseconds) }
}

/// The guard's view of the raw bytes, first in the pipeline.
final class RawBytesWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let watched: ConnectionGuard

    init(_ watched: ConnectionGuard) {
        self.watched = watched
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { watched.activated(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        watched.activated(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        watched.deactivated()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        watched.bytesArrived(unwrapInboundIn(data).readableBytes)
        context.fireChannelRead(data)
    }
}

/// The guard's view of requests and answers, after the HTTP decoder.
final class PartsWatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let watched: ConnectionGuard

    init(_ watched: ConnectionGuard) {
        self.watched = watched
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case var .head(head):
            // The guard keeps Connection: close to itself: Hummingbird would stop
            // reading the request at once, and a client still writing its body
            // would never read the answer.
            let close = Self.asksToClose(head.headerFields)
            watched.requestHead(close: close)
            if close {
                head.headerFields[.connection] = nil
                context.fireChannelRead(wrapInboundOut(.head(head)))
            } else {
                context.fireChannelRead(data)
            }
        case .body:
            context.fireChannelRead(data)
        case .end:
            watched.requestEnd()
            context.fireChannelRead(data)
        }
    }

    /// Graceful shutdown: close once the requests in progress are answered
    /// (this handler takes the place of Hummingbird's connection state handler).
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            watched.quiesce()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case var .head(response) where watched.closeRequested:
            response.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(response)), promise: promise)
        case .end:
            switch watched.responseEnd() {
            case .keepOpen:
                context.write(data, promise: promise)
            case .close:
                let written = promise ?? context.eventLoop.makePromise()
                let watched = NIOLoopBound(self.watched, eventLoop: context.eventLoop)
                written.futureResult.whenComplete { _ in watched.value.close() }
                context.write(data, promise: written)
            }
        default:
            context.write(data, promise: promise)
        }
    }

    /// Whether the `Connection` header holds the `close` token.
    static func asksToClose(_ fields: HTTPFields) -> Bool {
        fields[values: .connection].contains { value in
            value.split(separator: ",").contains { token in
                token.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" })
                    .reversed().map { $0.lowercased() }.joined() == "close"
            }
        }
    }
}
