import NIOCore
import NIOHTTP1
import NIOPosix
import Telemetry

/// How long and how much a client may take before it is cut off. Each is a bound on what one
/// client can hold of the exporter: a slow or stuck client costs one descriptor until then.
public struct ExporterLimits: Sendable {
    /// From accepting a connection to its first request's headers being complete.
    public var firstRequest: TimeAmount = .seconds(10)
    /// From a response's end to the next request's headers being complete (keep-alive).
    public var keepAlive: TimeAmount = .seconds(30)
    /// How long the socket may stay full (a client that does not read) before it is cut.
    public var stalledWrite: TimeAmount = .seconds(10)
    public var maxConnections = 512
    /// Request bodies are not read (nothing here takes one); more than this cuts the connection.
    public var maxBodyBytes = 64 << 10
    public init() {}
}

/// `p2ptop exporter`'s HTTP/1.1 server (SwiftNIO): `/metrics`, `/`, nothing that changes
/// anything. One event loop thread; samples are taken on the sampling thread.
public final class ExporterServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    let channel: Channel
    public let scrape: SharedScrape
    /// The address it listens on, with the port the kernel chose when asked for 0.
    public let host: String
    public let port: Int

    public static func start(host: String, port: Int, limits: ExporterLimits = ExporterLimits(), scrape: SharedScrape) throws -> ExporterServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let stats = scrape.stats
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 << 10, high: 256 << 10))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ops = channel.pipeline.syncOperations
                    try ops.addHandler(BackPressureHandler())
                    try ops.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try ops.addHandler(ConnectionGuard(limits: limits, stats: stats))
                    try ops.addHandler(ExporterHTTPHandler(scrape: scrape, limits: limits))
                }
            }
        do {
            let channel = try bootstrap.bind(host: host, port: port).wait()
            return ExporterServer(group: group, channel: channel, scrape: scrape, host: host, port: channel.localAddress?.port ?? port)
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    init(group: MultiThreadedEventLoopGroup, channel: Channel, scrape: SharedScrape, host: String, port: Int) {
        self.group = group; self.channel = channel; self.scrape = scrape; self.host = host; self.port = port
    }

    /// Until the listening socket closes.
    public func wait() throws { try channel.closeFuture.wait() }

    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
        scrape.shutdown()
    }
}

/// Cuts a connection that is too slow to send a request, or that stops reading its answers
/// long enough to fill the socket; refuses connections over the cap.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let limits: ExporterLimits
    let stats: ServerStats
    var counted = false
    var deadline: Scheduled<Void>?
    var stall: Scheduled<Void>?

    init(limits: ExporterLimits, stats: ServerStats) { self.limits = limits; self.stats = stats }

    func channelActive(context: ChannelHandlerContext) {
        guard stats.opened(max: limits.maxConnections) else { context.close(promise: nil); return }
        counted = true
        arm(context, limits.firstRequest)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel(); stall?.cancel()
        if counted { stats.closed(); counted = false }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { deadline?.cancel(); deadline = nil }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(context, limits.keepAlive) }
        context.write(data, promise: promise)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stall?.cancel(); stall = nil
        } else if stall == nil {
            stall = cut(context, after: limits.stalledWrite)
        }
        context.fireChannelWritabilityChanged()
    }

    private func arm(_ context: ChannelHandlerContext, _ t: TimeAmount) {
        deadline?.cancel()
        deadline = cut(context, after: t)
    }

    private func cut(_ context: ChannelHandlerContext, after t: TimeAmount) -> Scheduled<Void> {
        let stats = self.stats
        return context.eventLoop.assumeIsolated().scheduleTask(in: t) {
            stats.cutOff()
            context.close(promise: nil)
        }
    }
}

/// The routes: `GET /metrics` (negotiated format), `GET /` (a page naming the endpoints);
/// HEAD as GET without the body; any other method 405, any other path 404.
final class ExporterHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let scrape: SharedScrape
    let limits: ExporterLimits
    var head: HTTPRequestHead?
    var bodyBytes = 0

    init(scrape: SharedScrape, limits: ExporterLimits) { self.scrape = scrape; self.limits = limits }

    static let page = Array("""
        <!DOCTYPE html>
        <html><head><title>p2ptop exporter</title></head>
        <body><h1>p2ptop exporter</h1>
        <p><a href="/metrics">/metrics</a>: PCIe P2P facts (links, ACS, the kernel's verdicts) and counters (pins, p2pmem, block, RDMA, AER) in the Prometheus text format, or OpenMetrics 1.0.0 when asked.</p>
        <p>Rules and a dashboard: <code>p2ptop exporter rules</code>, <code>p2ptop exporter dashboard</code>.</p>
        </body></html>

        """.utf8)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            bodyBytes = 0
        case .body(let b):
            bodyBytes += b.readableBytes
            if bodyBytes > limits.maxBodyBytes { context.close(promise: nil) }
        case .end:
            guard let h = head else { return }
            head = nil
            respond(context, h)
        }
    }

    func respond(_ context: ChannelHandlerContext, _ h: HTTPRequestHead) {
        let path = h.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? h.uri
        guard h.method == .GET || h.method == .HEAD else {
            send(context, h, .methodNotAllowed, "text/plain; charset=utf-8", Array("only GET and HEAD are served here\n".utf8), extra: [("Allow", "GET, HEAD")])
            return
        }
        switch path {
        case "/":
            send(context, h, .ok, "text/html; charset=utf-8", Self.page)
        case "/metrics":
            let format = Negotiation.format(accept: h.headers.first(name: "accept"))
            let stats = scrape.stats
            scrape.exposition(on: context.eventLoop).assumeIsolated().whenSuccess { [self] e in
                stats.scraped()
                send(context, h, .ok, Negotiation.contentType(format), e.body(format))
            }
        default:
            send(context, h, .notFound, "text/plain; charset=utf-8", Array("not found: /metrics and / are served here\n".utf8))
        }
    }

    func send(_ context: ChannelHandlerContext, _ request: HTTPRequestHead, _ status: HTTPResponseStatus, _ type: String, _ body: [UInt8],
              extra: [(String, String)] = []) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders([("Content-Type", type), ("Content-Length", String(body.count))] + extra)
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        if request.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive { done.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }
}
