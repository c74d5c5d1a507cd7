import FoundationEssentials
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few requests the commands send to a running server (`arbiter plugins
/// reload` and `activate`): plain HTTP/1.1 over a socket, one request per
/// connection, on the server's own machine or network. No TLS: put a proxy
/// in front for that.
struct ServerClient {
    let host: String
    let port: Int
    let key: String

    typealias Failure = CommandFailure

    /// - Parameter url: `http://HOST:PORT`.
    init(url: String, key: String) throws(Failure) {
        guard url.hasPrefix("http://") else { throw Failure("--server must be http://HOST:PORT, got '\(url)'") }
        var rest = url.dropFirst("http://".count)
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, !(parts.first ?? "").isEmpty else { throw Failure("--server must be http://HOST:PORT, got '\(url)'") }
        host = String(parts[0])
        if parts.count == 2 {
            guard let port = Int(parts[1]), (1...65_535).contains(port) else { throw Failure("bad port in --server '\(url)'") }
            self.port = port
        } else {
            port = 80
        }
        self.key = key
    }

    /// Sends a request and returns the status and the body.
    func send(_ method: String, _ path: String, body: String? = nil) throws(Failure) -> (status: Int, body: String) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let first = found else {
            throw Failure("cannot resolve \(host)")
        }
        defer { freeaddrinfo(found) }
        var socket: Int32 = -1
        var address: UnsafeMutablePointer<addrinfo>? = first
        while let candidate = address {
            socket = Glibc.socket(candidate.pointee.ai_family, candidate.pointee.ai_socktype, candidate.pointee.ai_protocol)
            if socket >= 0, connect(socket, candidate.pointee.ai_addr, candidate.pointee.ai_addrlen) == 0 { break }
            if socket >= 0 { close(socket) }
            socket = -1
            address = candidate.pointee.ai_next
        }
        guard socket >= 0 else { throw Failure("cannot connect to http://\(host):\(port): is the server running there?") }
        defer { close(socket) }
        let payload = body ?? ""
        let request = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nAuthorization: Bearer \(key)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(payload.utf8.count)\r\nConnection: close\r\n\r\n" + payload
        var bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(socket, $0.baseAddress! + sent, $0.count - sent) }
            guard written > 0 else { throw Failure("the connection to http://\(host):\(port) closed while sending") }
            sent += written
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(socket, $0.baseAddress!, $0.count) }
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        bytes = response
        // The head ends at the first empty line.
        let separator = Array("\r\n\r\n".utf8)
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else {
            throw Failure("no HTTP answer from http://\(host):\(port)")
        }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let fields = statusLine.split(separator: " ")
        guard fields.count >= 2, let status = Int(fields[1]) else { throw Failure("bad HTTP answer: \(statusLine)") }
        return (status, String(decoding: bytes[(end + 4)...], as: UTF8.self))
    }
}
