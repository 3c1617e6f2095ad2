import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// HTTP/1.1 over a plain TCP socket with exactly the bytes a test writes: for limits on headers (which URLSession
/// adds to) and for a connection refused after shutdown. Blocking, with a receive timeout; for a few requests only.
enum RawHTTP {
    /// One answer: status, headers (names lowercased) and body.
    struct Answer: CustomStringConvertible {
        let status: Int
        let headers: [String: String]
        let body: Data

        func json() throws -> JSON { try JSON.parse(body) }

        var description: String { "HTTP \(status) \(headers)\n\(String(decoding: body.prefix(2000), as: UTF8.self))" }
    }

    /// Why a connection failed.
    struct ConnectFailure: Error, CustomStringConvertible {
        let code: Int32
        var refused: Bool { code == ECONNREFUSED }
        var description: String { "connect failed: \(String(cString: strerror(code)))" }
    }

    /// Connects to 127.0.0.1:`port`.
    /// - Throws: ``ConnectFailure`` (``ConnectFailure/refused`` when nobody listens).
    ///
    /// The socket is close-on-exec: a child another test spawned meanwhile (PostgreSQL's `initdb`, `pg_ctl` and the
    /// server they start) inherited it otherwise and kept the connection open after the test closed it. The open
    /// files limit test then failed whenever a PostgreSQL test started beside it: its 300 connections, closed, were
    /// still held by a `postgres`, and the server, at its limit, never took another.
    ///
    /// - Parameter source: the loopback address the connection comes from (`127.0.0.2`: every 127/8 address is this
    ///   host's), for a client the server tells apart from another by its address; the kernel's choice when nil.
    static func connect(port: Int, from source: String? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ConnectFailure(code: errno) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else {
                let code = errno
                close(fd)
                throw ConnectFailure(code: code)
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw ConnectFailure(code: code)
        }
        return fd
    }

    /// Sends `request` (its bytes exactly) on a new connection and reads the answer until the server closes it
    /// (send `Connection: close`).
    static func exchange(port: Int, from source: String? = nil, _ request: String) throws -> Answer {
        let fd = try connect(port: port, from: source)
        defer { close(fd) }
        send(fd, request)
        return try answer(fd)
    }

    /// Writes `text` to the connection, as far as the server takes it (one that closed early stops the writing).
    static func send(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                Glibc.send(fd, buffer.baseAddress! + sent, buffer.count - sent, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { break }  // the server closed early (a refused request): read its answer
            sent += written
        }
    }

    /// Everything the server sends until it closes the connection (or the receive timeout passes).
    static func receiveAll(_ fd: Int32) -> Data {
        var received = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            guard count > 0 else { break }
            received.append(contentsOf: chunk[0..<count])
        }
        return received
    }

    /// Everything the server sends within `seconds`, and whether it closed the connection by then (rather than the
    /// time running out).
    static func receiveUntilClosed(_ fd: Int32, seconds: Int) -> (data: Data, closed: Bool) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count == 0 { return (received, true) }
            guard count > 0 else { return (received, false) }
            received.append(contentsOf: chunk[0..<count])
        }
    }

    /// The answer the server sends before it closes the connection.
    static func answer(_ fd: Int32) throws -> Answer {
        try parse(receiveAll(fd))
    }

    /// A request with `headers` in order, `Connection: close` and, with a body, its `Content-Length` (both counted
    /// by the server's header limits like any other field).
    static func request(
        _ method: String,
        _ path: String,
        port: Int,
        headers: [(String, String)],
        body: String? = nil
    ) -> String {
        var lines = ["\(method) \(path) HTTP/1.1", "Host: 127.0.0.1:\(port)"]
        lines += headers.map { "\($0.0): \($0.1)" }
        if let body { lines.append("Content-Length: \(body.utf8.count)") }
        lines.append("Connection: close")
        return lines.joined(separator: "\r\n") + "\r\n\r\n" + (body ?? "")
    }

    /// The bytes of header names and values that ``request(_:_:port:headers:body:)`` sends, as the server counts them.
    static func headerBytes(port: Int, headers: [(String, String)], body: String?) -> Int {
        var fields = [("Host", "127.0.0.1:\(port)")] + headers + [("Connection", "close")]
        if let body { fields.append(("Content-Length", String(body.utf8.count))) }
        return fields.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count }
    }

    /// The answers in `data`, one after another on one connection (each framed by its `Content-Length`; the last
    /// one may run to the end of `data`).
    static func answers(in data: Data) throws -> [Answer] {
        var answers: [Answer] = []
        var rest = data[...]
        while !rest.isEmpty {
            guard let end = rest.range(of: Data("\r\n\r\n".utf8)) else { break }
            let answer = try parse(Data(rest))
            let length = answer.headers["content-length"].flatMap(Int.init) ?? (rest.endIndex - end.upperBound)
            answers.append(Answer(status: answer.status, headers: answer.headers, body: answer.body.prefix(length)))
            rest = rest[min(rest.endIndex, end.upperBound + length)...]
        }
        return answers
    }

    private static func parse(_ data: Data) throws -> Answer {
        guard let end = data.range(of: Data("\r\n\r\n".utf8)) else {
            throw EndToEndError("No complete HTTP answer: \(String(decoding: data, as: UTF8.self))")
        }
        let head = String(decoding: data[data.startIndex..<end.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw EndToEndError("Bad status line: \(head)")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces
            )
        }
        var body = Data(data[end.upperBound...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = dechunk(body) }
        return Answer(status: status, headers: headers, body: body)
    }

    /// A chunked body's data.
    private static func dechunk(_ data: Data) -> Data {
        var output = Data()
        var rest = data[...]
        while let lineEnd = rest.range(of: Data("\r\n".utf8)),
            let size = Int(String(decoding: rest[rest.startIndex..<lineEnd.lowerBound], as: UTF8.self), radix: 16),
            size > 0
        {
            let start = lineEnd.upperBound
            let stop = rest.index(start, offsetBy: size, limitedBy: rest.endIndex) ?? rest.endIndex
            output.append(rest[start..<stop])
            rest = rest[min(rest.endIndex, rest.index(stop, offsetBy: 2, limitedBy: rest.endIndex) ?? rest.endIndex)...]
        }
        return output
    }
}
