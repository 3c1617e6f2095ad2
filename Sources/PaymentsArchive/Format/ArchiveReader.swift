import Crypto
import Foundation

/// Reads an archive line by line from a file, in chunks, checking every table's rows against its trailer and the
/// whole file against its last line. Holds one chunk and one line in memory whatever the archive's size.
///
/// A caller reads the header, then calls ``nextTable()`` and ``nextRow()`` until ``nextTable()`` answers nil; a
/// row count or checksum that does not match throws at the table's trailer, and a missing last line (a truncated
/// file) throws at the end. So a caller that writes inside a transaction and commits only after the end has
/// written nothing from a damaged archive.
final class ArchiveReader {
    private let input: FileHandle
    private var chunk: [UInt8] = []
    private var position = 0
    private var atEndOfFile = false
    private var lineNumber = 0
    private var archiveHash = SHA256()
    /// The archive's hash before the line last read: the last line holds the hash of the lines before it.
    private var hashBeforeLine = SHA256()
    private var tableHash = SHA256()
    private var rows: Int64 = 0
    private var tablesRead = 0
    private var currentTable: String?
    private var lastTable: String?

    /// How much is read at once.
    static let chunkSize = 1 << 20

    /// The first line.
    private(set) var header = ArchiveLines.Header(format: "", version: 0, source: "", migrations: [], exportedAt: 0)

    /// Opens `path` and reads its header.
    /// - Throws: ``ArchiveError/notAnArchive(_:)`` when the first line is not this format's header.
    init(path: String) throws {
        // A folder opens for reading, and its first read failed with Foundation's error (`NSCocoaErrorDomain
        // Code=256`, "Is a directory")
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw ArchiveError.notAnArchive("\(path) is a folder; name the archive file in it")
        }
        // A pipe (`--input /dev/stdin` after `|`, or `<(...)`) was read once by the check, and the copy then found
        // nothing: "its first line is not a payments archive header"
        var status = stat()
        if stat(path, &status) == 0 {
            switch status.st_mode & S_IFMT {
            case S_IFIFO: throw ArchiveError.notAFile(path: path, kind: "a pipe")
            case S_IFCHR, S_IFBLK: throw ArchiveError.notAFile(path: path, kind: "a device")
            case S_IFSOCK: throw ArchiveError.notAFile(path: path, kind: "a socket")
            default: break
            }
        }
        guard let input = FileHandle(forReadingAtPath: path) else {
            throw ArchiveError.notAnArchive("there is no readable file at \(path)")
        }
        self.input = input
        guard let line = try readLine(), line.first == UInt8(ascii: "{"),
            let header = try? JSONDecoder().decode(ArchiveLines.Header.self, from: Data(line))
        else { throw ArchiveError.notAnArchive("its first line is not a payments archive header") }
        guard header.format == ArchiveLines.format else {
            throw ArchiveError.notAnArchive("its format is \(header.format)")
        }
        guard header.version == ArchiveLines.version else {
            throw ArchiveError.notAnArchive(
                "it is version \(header.version) of the format; this build reads version \(ArchiveLines.version)"
            )
        }
        self.header = header
    }

    deinit { try? input.close() }

    /// The next table's name and columns, or nil after the last table (the archive's end, checked).
    func nextTable() throws -> (name: String, columns: [String])? {
        guard let line = try readLine() else { throw ArchiveError.truncated(afterTable: lastTable) }
        if let start = try? JSONDecoder().decode(ArchiveLines.TableStart.self, from: Data(line)) {
            currentTable = start.table
            rows = 0
            tableHash = SHA256()
            return (start.table, start.columns)
        }
        guard let end = try? JSONDecoder().decode(ArchiveLines.ArchiveEnd.self, from: Data(line)) else {
            throw ArchiveError.malformed(line: lineNumber, reason: "expected a table or the archive's end")
        }
        // The last line's own bytes are not part of the hash it holds.
        let digest = Base64.hex(hashBeforeLine.finalize())
        guard end.sha256 == digest, end.tables == tablesRead, end.endOfArchive else {
            throw ArchiveError.archiveChecksumMismatch
        }
        guard try readLine() == nil else {
            throw ArchiveError.malformed(line: lineNumber, reason: "lines after the archive's end")
        }
        return nil
    }

    /// The next row of the current table, or nil at its trailer (checked against the rows read).
    func nextRow() throws -> [ArchiveValue]? {
        guard let table = currentTable else { return nil }
        guard let line = try readLine() else { throw ArchiveError.truncated(afterTable: lastTable, inTable: table) }
        if line.first == UInt8(ascii: "[") {
            tableHash.update(data: line)
            tableHash.update(data: [UInt8(ascii: "\n")])
            rows += 1
            do {
                return try RowLineParser.parse(line)
            } catch {
                throw ArchiveError.malformed(line: lineNumber, reason: error.reason)
            }
        }
        guard let end = try? JSONDecoder().decode(ArchiveLines.TableEnd.self, from: Data(line)), end.end == table
        else { throw ArchiveError.malformed(line: lineNumber, reason: "expected a row or the end of \(table)") }
        let digest = Base64.hex(tableHash.finalize())
        guard end.rows == rows, end.sha256 == digest else {
            throw ArchiveError.checksumMismatch(
                table: table,
                expected: "\(end.rows) rows, sha256 \(end.sha256.prefix(12))…",
                found: "\(rows) rows, sha256 \(digest.prefix(12))…"
            )
        }
        currentTable = nil
        lastTable = table
        tablesRead += 1
        return nil
    }

    /// Reads the whole archive, checking every trailer and the end.
    /// - Returns: each table's name, columns and row count.
    func verify() throws -> [(name: String, columns: [String], rows: Int64)] {
        var tables: [(name: String, columns: [String], rows: Int64)] = []
        while let (name, columns) = try nextTable() {
            var count: Int64 = 0
            while try nextRow() != nil { count += 1 }
            tables.append((name, columns, count))
        }
        return tables
    }

    // MARK: - Lines

    /// The next line without its newline (hashed into the archive's hash, newline included), or nil at the end of
    /// the file. A last line without its newline counts as cut short.
    private func readLine() throws -> ArraySlice<UInt8>? {
        var line: [UInt8] = []
        while true {
            if position == chunk.count {
                if atEndOfFile { break }
                let data = try input.read(upToCount: Self.chunkSize) ?? Data()
                if data.isEmpty {
                    atEndOfFile = true
                    break
                }
                chunk = Array(data)
                position = 0
            }
            if let newline = chunk[position...].firstIndex(of: UInt8(ascii: "\n")) {
                line.append(contentsOf: chunk[position..<newline])
                position = newline + 1
                lineNumber += 1
                hashBeforeLine = archiveHash
                archiveHash.update(data: line)
                archiveHash.update(data: [UInt8(ascii: "\n")])
                return line[...]
            }
            line.append(contentsOf: chunk[position...])
            position = chunk.count
        }
        guard line.isEmpty else {
            // A file of one line without its newline: a header (a JSON object) cut short, or no archive at all
            if lineNumber == 0, line.first != UInt8(ascii: "{") {
                throw ArchiveError.notAnArchive("its first line is not a payments archive header")
            }
            throw ArchiveError.truncated(afterTable: lastTable, inTable: currentTable)
        }
        return nil
    }
}
