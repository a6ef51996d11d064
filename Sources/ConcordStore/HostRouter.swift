import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Lets a `PostgresClient`, which takes one host, use a URL that names several: the client connects to a Unix socket
/// of this process, and each connection is forwarded, byte for byte, to the server the `PrimaryLocator` chooses at
/// that moment (with TLS to it when the URL's `sslmode` asks). When the locator finds the server in use gone or
/// demoted, the connections to it are closed: the pool drops them and its next connections reach the new primary,
/// so every part of the service (appends, reads, LISTEN, the projection lease) follows a failover without a restart.
///
/// One router per set of servers and target in a process (`HostRouter.socketPath(for:logger:)`), for its life.
public final class HostRouter: Sendable {
    public let locator: PrimaryLocator
    /// The socket file a client connects to (in a directory only this user may enter).
    public let socketPath: String
    private let connections = Mutex<[ObjectIdentifier: (endpoint: DatabaseURL.Endpoint, channel: any Channel)]>([:])
    private let sslContext: NIOSSLContext?
    /// How long a new connection may wait for a server that suits (a failover under way) before it is closed.
    static let locateDeadline: Duration = .seconds(5)

    private static let routers = Mutex<[String: HostRouter]>([:])

    /// The socket of the router for `url`'s servers and target, started on first use.
    public static func socketPath(for url: DatabaseURL, logger: Logger) throws(DatabaseURLError) -> String {
        var key = url
        key.user = ""
        key.password = nil
        key.database = nil
        let name = "\(key)"
        do {
            return try Self.routers.withLock { routers in
                if let router = routers[name] { return router.socketPath }
                let router = try HostRouter(url: url, logger: logger)
                routers[name] = router
                return router.socketPath
            }
        } catch {
            throw DatabaseURLError("cannot route to the servers of the database URL: \(error)")
        }
    }

    private init(url: DatabaseURL, logger: Logger) throws {
        self.locator = try PrimaryLocator(url: url, logger: logger)
        self.sslContext = url.sslMode == .disable ? nil : try NIOSSLContext(configuration: .makeClientConfiguration())
        let temporary = FileManager.default.temporaryDirectory.path
        Self.removeLeftovers(in: temporary)
        let directory = temporary + "/concord-router-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        self.socketPath = directory + "/.s.PGSQL.5432"
        let server = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .childChannelInitializer { [self] inbound in self.forward(inbound) }
        _ = try server.bind(unixDomainSocketPath: self.socketPath, cleanupExistingSocketFile: true).wait()
        Task { [self] in await self.watch() }
    }

    /// Socket directories of routers whose processes have ended (a process's own goes with it only if it is removed).
    private static func removeLeftovers(in temporary: String) {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
        for entry in entries where entry.hasPrefix("concord-router-") {
            let pid = entry.split(separator: "-").dropFirst(2).first.flatMap { Int32($0) }
            guard let pid, pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: temporary + "/" + entry)
        }
    }

    /// Connects `inbound` to the server in use (on its event loop, where the two glue handlers live), or fails, which
    /// closes it: the client sees a connection that ended at once and tries again after its backoff.
    private func forward(_ inbound: any Channel) -> EventLoopFuture<Void> {
        let loop = inbound.eventLoop
        return loop.makeFutureWithTask { [locator] in
            await locator.locate(within: Self.locateDeadline)
        }.flatMap { [self] endpoint -> EventLoopFuture<Void> in
            guard let endpoint else { return loop.makeFailedFuture(ConnectionLost("no database server suits now")) }
            return self.connect(to: endpoint, on: loop).flatMapError { error in
                self.locator.forget(endpoint)
                return loop.makeFailedFuture(error)
            }.flatMapThrowing { outbound in
                let (near, far) = GlueHandler.matchedPair()
                try inbound.pipeline.syncOperations.addHandler(near)
                try outbound.pipeline.syncOperations.addHandler(far)
                self.track(inbound, outbound, endpoint: endpoint)
            }
        }
    }

    private func connect(to endpoint: DatabaseURL.Endpoint, on loop: any EventLoop) -> EventLoopFuture<any Channel> {
        let bootstrap = ClientBootstrap(group: loop).connectTimeout(.seconds(2))
        switch endpoint {
        case .socket(let path):
            return bootstrap.connect(unixDomainSocketPath: path)
        case .tcp(let host, let port):
            let connected = bootstrap.connect(host: host, port: port)
            guard let context = self.sslContext else { return connected }
            let required = self.locator.url.sslMode == .require
            return connected.flatMap { channel in
                SSLNegotiation.start(on: channel, context: context, host: host, required: required)
            }
        }
    }

    private func track(_ inbound: any Channel, _ outbound: any Channel, endpoint: DatabaseURL.Endpoint) {
        let id = ObjectIdentifier(inbound)
        self.connections.withLock { $0[id] = (endpoint, inbound) }
        inbound.closeFuture.whenComplete { [self] _ in
            self.connections.withLock { _ = $0.removeValue(forKey: id) }
            outbound.close(promise: nil)
        }
    }

    /// Twice a second, checks the server in use; closes every connection to a server that is gone or demoted, or
    /// that is no longer the one in use (a connection that failed may have made the locator forget it first). A
    /// session on a dead server may linger without a word to the client (a backend whose postmaster was killed),
    /// and PostgresNIO would wait on it forever.
    private func watch() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(500))
            let lost = await self.locator.recheck()
            let current = self.locator.endpoint
            let doomed = self.connections.withLock { connections in
                connections.values.filter { $0.endpoint == lost || (current != nil && $0.endpoint != current) }
                    .map(\.channel)
            }
            for channel in doomed { channel.close(promise: nil) }
        }
    }
}

/// PostgreSQL's SSLRequest on a fresh connection: the server answers one byte, `S` (TLS follows) or `N`.
private final class SSLNegotiation: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let answered: EventLoopPromise<Bool>

    init(answered: EventLoopPromise<Bool>) { self.answered = answered }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = self.unwrapInboundIn(data)
        self.answered.succeed(buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == UInt8(ascii: "S"))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.answered.fail(ConnectionLost("the server closed the connection during the TLS request"))
    }

    /// Asks for TLS on `channel`; on `S`, adds the TLS handler (checking the certificate against `host`).
    static func start(
        on channel: any Channel, context: NIOSSLContext, host: String, required: Bool
    ) -> EventLoopFuture<any Channel> {
        let promise = channel.eventLoop.makePromise(of: Bool.self)
        do {
            try channel.pipeline.syncOperations.addHandler(SSLNegotiation(answered: promise))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        var request = channel.allocator.buffer(capacity: 8)
        request.writeInteger(Int32(8))
        request.writeInteger(Int32(80_877_103))
        channel.writeAndFlush(request, promise: nil)
        return promise.futureResult.flatMapThrowing { accepted in
            guard accepted else {
                if required { throw ConnectionLost("the server \(host) refuses TLS, which sslmode requires") }
                return channel
            }
            let isAddress = host.allSatisfy { $0.isHexDigit || $0 == "." || $0 == ":" }
            try channel.pipeline.syncOperations.addHandler(
                try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host), position: .first)
            return channel
        }
    }
}

/// Two handlers, one in each channel of a forwarded connection, passing reads across and honouring back-pressure
/// (the pattern of swift-nio's connect-proxy example).
private final class GlueHandler: ChannelDuplexHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    static func matchedPair() -> (GlueHandler, GlueHandler) {
        let first = GlueHandler()
        let second = GlueHandler()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { self.partner?.partnerWrite(data) }

    func channelReadComplete(context: ChannelHandlerContext) { self.partner?.partnerFlush() }

    func channelInactive(context: ChannelHandlerContext) { self.partner?.partnerClose() }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { self.partner?.partnerClose() }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { self.partner?.partnerBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        if let partner = self.partner, partner.isWritable {
            context.read()
        } else {
            self.pendingRead = true
        }
    }

    private var isWritable: Bool { self.context?.channel.isWritable ?? false }

    private func partnerWrite(_ data: NIOAny) { self.context?.write(data, promise: nil) }

    private func partnerFlush() { self.context?.flush() }

    private func partnerClose() { self.context?.close(promise: nil) }

    private func partnerBecameWritable() {
        if self.pendingRead {
            self.pendingRead = false
            self.context?.read()
        }
    }
}
