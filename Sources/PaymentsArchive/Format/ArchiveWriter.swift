import Crypto
import Foundation

/// Writes an archive line by line to a file handle, through a buffer, hashing as it goes: each table's row lines
/// (for its trailer) and every line (for the last one). Holds one buffer of memory whatever the database's size.
final class ArchiveWriter {
    private let output: FileHandle
    private var buffer: [UInt8] = []
    private var archiveHash = SHA256()
    private var tableHash = SHA256()
    private var table: String?
    private var rows: Int64 = 0
    private var tables = 0
    private var row: [UInt8] = []

    /// How much is gathered before a write: large enough that writes cost little, small enough not to matter.
    static let bufferSize = 1 << 20

    /// What was written, for the command's summary.
    private(set) var counts: [(table: String, rows: Int64)] = []

    init(output: FileHandle) {
        self.output = output
        buffer.reserveCapacity(Self.bufferSize)
    }

    /// The first line.
    func header(_ header: ArchiveLines.Header) throws {
        try control(header)
    }

    /// Starts a table's rows.
    func startTable(_ name: String, columns: [String]) throws {
        try control(ArchiveLines.TableStart(table: name, columns: columns))
        table = name
        rows = 0
        tableHash = SHA256()
    }

    /// One row of the current table.
    func row(_ values: [ArchiveValue]) throws {
        row.removeAll(keepingCapacity: true)
        ArchiveValue.appendRow(values, to: &row)
        row.append(UInt8(ascii: "\n"))
        tableHash.update(data: row)
        rows += 1
        try append(row)
    }

    /// Ends the current table with its trailer.
    func endTable() throws {
        guard let table else { return }
        let digest = Base64.hex(tableHash.finalize())
        try control(ArchiveLines.TableEnd(end: table, rows: rows, sha256: digest))
        counts.append((table, rows))
        tables += 1
        self.table = nil
    }

    /// The last line, then everything still buffered.
    func finish() throws {
        let digest = Base64.hex(archiveHash.finalize())
        let end = ArchiveLines.ArchiveEnd(endOfArchive: true, tables: tables, sha256: digest)
        try append(Array(try Self.encoder.encode(end)) + [UInt8(ascii: "\n")], hashed: false)
        try flush()
    }

    // MARK: - Lines

    /// Control lines: keys sorted and slashes unescaped, so the same content gives the same bytes.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private func control(_ line: some Encodable) throws {
        try append(Array(try Self.encoder.encode(line)) + [UInt8(ascii: "\n")])
    }

    private func append(_ line: [UInt8], hashed: Bool = true) throws {
        if hashed { archiveHash.update(data: line) }
        buffer.append(contentsOf: line)
        if buffer.count >= Self.bufferSize { try flush() }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        do {
            try output.write(contentsOf: buffer)
        } catch {
            throw ArchiveError.cannotWrite(error)
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
