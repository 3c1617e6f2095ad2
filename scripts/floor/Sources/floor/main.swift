// The least a durable form POST costs on the payments server's stack: Hummingbird 2 takes the request, checks the
// bearer key, reads the form body, and one row per request is written to SQLite (WAL, synchronous=FULL) by a group
// commit writer on a thread of its own, as the payments server writes; the answer is a small JSON object, sent once
// its row's commit is on disk.
//
//     floor --port PORT --db FILE [--commits N]
//
// With `--commits 3` each request waits for three group commits in turn, on FILE, then on FILE-ledger (a second
// database with a writer of its own), then on FILE again: the durable points of a payment (phase one, the card
// network's ledger, phase three), each with one small row and nothing else.
//
// Routes: `POST /v1/payment_intents` (Authorization: Bearer sk_test_bench_hot_path, form body with `amount` and
// `currency`), `GET /health`. Not part of the service: `scripts/bench-floor` runs it beside the payments server.
import Foundation
import GRDBSQLite
import Hummingbird
import Synchronization

/// One row waiting for its commit, and the request waiting for it.
struct PendingRow: Sendable {
    let id: String
    let payload: String
    let done: CheckedContinuation<Void, any Error>
}

struct FloorError: Error, CustomStringConvertible {
    let description: String
}

/// Writes the rows handed to it in batches: one transaction (one fsync) per batch, all that arrived while the
/// previous batch committed.
final class GroupCommitWriter: Sendable {
    private let pending = Mutex<[PendingRow]>([])
    private let wake = DispatchSemaphore(value: 0)
    nonisolated(unsafe) private let db: OpaquePointer
    nonisolated(unsafe) private let insert: OpaquePointer

    init(path: String) throws {
        var handle: OpaquePointer?
        guard
            sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
                == SQLITE_OK, let handle
        else { throw FloorError(description: "cannot open \(path)") }
        db = handle
        for sql in [
            "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL",
            "CREATE TABLE IF NOT EXISTS intents (id TEXT PRIMARY KEY, payload TEXT NOT NULL)",
        ] {
            guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
                throw FloorError(description: String(cString: sqlite3_errmsg(db)))
            }
        }
        var statement: OpaquePointer?
        guard
            sqlite3_prepare_v2(db, "INSERT INTO intents (id, payload) VALUES (?, ?)", -1, &statement, nil)
                == SQLITE_OK, let statement
        else { throw FloorError(description: String(cString: sqlite3_errmsg(db))) }
        insert = statement
        let thread = Thread { [self] in run() }
        thread.name = "commit-floor"
        thread.start()
    }

    /// Returns once the row is committed.
    func write(id: String, payload: String) async throws {
        try await withCheckedThrowingContinuation { continuation in
            pending.withLock { $0.append(PendingRow(id: id, payload: payload, done: continuation)) }
            wake.signal()
        }
    }

    private func run() {
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        while true {
            wake.wait()
            let batch = pending.withLock { rows in
                defer { rows.removeAll(keepingCapacity: true) }
                return rows
            }
            if batch.isEmpty { continue }
            var failed = sqlite3_exec(db, "BEGIN IMMEDIATE", nil, nil, nil) != SQLITE_OK
            for row in batch where !failed {
                sqlite3_bind_text(insert, 1, row.id, -1, transient)
                sqlite3_bind_text(insert, 2, row.payload, -1, transient)
                failed = sqlite3_step(insert) != SQLITE_DONE
                sqlite3_reset(insert)
            }
            failed = failed || sqlite3_exec(db, "COMMIT", nil, nil, nil) != SQLITE_OK
            if failed {
                let message = String(cString: sqlite3_errmsg(db))
                sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
                for row in batch { row.done.resume(throwing: FloorError(description: message)) }
            } else {
                for row in batch { row.done.resume() }
            }
        }
    }
}

/// `name=value&...` of a form body, undecoded (the bench's bodies need no decoding).
func formValues(_ body: ByteBuffer) -> [Substring: Substring] {
    let text = Substring(String(buffer: body))
    var values: [Substring: Substring] = [:]
    for pair in text.split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1)
        if parts.count == 2 { values[parts[0]] = parts[1] }
    }
    return values
}

let arguments = CommandLine.arguments
func argument(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
guard let port = argument("--port").flatMap(Int.init), let path = argument("--db") else {
    FileHandle.standardError.write(Data("usage: floor --port PORT --db FILE [--commits N]\n".utf8))
    exit(2)
}
let commits = max(argument("--commits").flatMap(Int.init) ?? 1, 1)
let writers = try [GroupCommitWriter(path: path)] + (commits > 1 ? [GroupCommitWriter(path: path + "-ledger")] : [])
let counter = Atomic<Int>(0)
let router = Router()
router.get("/health") { _, _ in "ok" }
router.post("/v1/payment_intents") { request, _ -> Response in
    guard request.headers[.authorization] == "Bearer sk_test_bench_hot_path" else {
        return Response(status: .unauthorized)
    }
    let body = try await request.body.collect(upTo: 1 << 20)
    let form = formValues(body)
    guard let amount = form["amount"].flatMap({ Int($0) }), let currency = form["currency"] else {
        return Response(status: .badRequest)
    }
    let id =
        "pi_" + String(counter.wrappingAdd(1, ordering: .relaxed).oldValue, radix: 36)
        + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    let json =
        #"{"id":"\#(id)","object":"payment_intent","amount":\#(amount),"currency":"\#(currency)","#
        + #""status":"succeeded"}"#
    for commit in 0..<commits {
        try await writers[commit % writers.count].write(id: commit == 0 ? id : id + "-\(commit)", payload: json)
    }
    return Response(
        status: .ok,
        headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(string: json))
    )
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
