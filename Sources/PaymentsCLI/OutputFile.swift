import ArgumentParser
import Foundation
import PaymentsCore

/// A file a command writes its results to (`payments recharge --output` and `--metrics-file`): checked before the
/// command changes anything, and replaced whole at its end.
///
/// Foundation's atomic write renames a new file over the path. Over a link that replaced the link, not the file it
/// leads to; over a device it replaced the device (run as root, `--output /dev/null` turned `/dev/null` into a
/// regular file for the whole machine); over a pipe it left its reader waiting forever; and the new file took the
/// default mode, so results kept `0600` became readable by everyone. Here the new file replaces the file the path
/// leads to, with that file's mode (and owner, when the process may set it), and a path that leads to anything but
/// a regular file is refused before the command starts.
struct OutputFile {
    /// The path as given (for messages).
    let path: String
    /// The file the path leads to, through links (it may not exist yet).
    let target: String

    /// Links followed at most, as the system's own limit on a path's lookups (`ELOOP`).
    static let linkLimit = 40

    /// Resolves `path` and checks that a file can be written there.
    /// - Parameter what: what the file holds, for messages ("the results").
    /// - Throws: a `ValidationError` saying why not: a folder, not a regular file, a missing or unwritable folder,
    ///   an unwritable file, or a loop of links.
    init(_ path: String, holding what: String) throws {
        func refuse(_ reason: String) -> ValidationError {
            ValidationError("cannot write \(what) to \(path): \(reason); nothing was charged")
        }
        if path.isEmpty { throw refuse("the name is empty") }
        if path.hasSuffix("/") { throw refuse("it ends in /, so it names a folder") }
        self.path = path
        var target = path
        var followed = 0
        while let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: target) {
            followed += 1
            guard followed <= Self.linkLimit else { throw refuse("its links lead round in a loop") }
            target =
                destination.hasPrefix("/")
                ? destination
                : URL(fileURLWithPath: target).deletingLastPathComponent().appendingPathComponent(destination).path
        }
        self.target = target
        var status = stat()
        if stat(target, &status) == 0 {
            switch status.st_mode & S_IFMT {
            case S_IFREG: break
            case S_IFDIR: throw refuse("it is a folder")
            default: throw refuse("it is not a regular file (a device, a pipe or a socket); name a file")
            }
            guard access(target, W_OK) == 0 else { throw refuse("the file is not writable") }
        }
        let folder = URL(fileURLWithPath: target).deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else {
            throw refuse("the folder \(folder) does not exist")
        }
        guard isFolder.boolValue else { throw refuse("\(folder) is not a folder") }
        // The new file is made in the folder, then renamed over the file
        guard access(folder, W_OK) == 0 else { throw refuse("the folder \(folder) is not writable") }
    }

    /// Whether this file and the one at `other` are the same file (``FileNames/same(_:_:)``).
    func isSameFile(as other: String) -> Bool { FileNames.same(target, other) }

    /// Replaces the file with `data` at once: a new file in its folder, written and synced, then renamed over it,
    /// so a reader (a metrics collector) never sees half of it. It keeps the mode (and, when the process may set
    /// it, the owner) of the file it replaces; a new file gets the default mode.
    ///
    /// The new file has no name while it is written (`O_TMPFILE`) and is given its hidden temporary name only to be
    /// renamed, so a process killed while writing (SIGKILL) leaves nothing behind. A file system without unnamed
    /// files writes under the temporary name throughout.
    /// - Parameter synced: called once the data is written and synced, before the file is named (tests look at
    ///   the folder there: what a process killed at that moment would leave).
    func write(_ data: Data, synced: () -> Void = {}) throws {
        let folder = URL(fileURLWithPath: target).deletingLastPathComponent().path
        let name = URL(fileURLWithPath: target).lastPathComponent
        let temporary = folder + "/.\(name).\(UUID().uuidString.prefix(8)).tmp"
        var old = stat()
        let replacing = stat(target, &old) == 0
        var descriptor = UnnamedFile.open(inFolder: folder) ?? -1
        var unnamed = descriptor >= 0
        if !unnamed {
            descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        }
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var renamed = false
        defer {
            if !renamed, !unnamed { unlink(temporary) }
        }
        do {
            defer { close(descriptor) }
            if replacing {
                _ = fchmod(descriptor, old.st_mode & 0o7777)
                _ = fchown(descriptor, old.st_uid, old.st_gid)
            }
            try data.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let count = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if count < 0 {
                        if errno == EINTR { continue }
                        throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
                    }
                    offset += count
                }
            }
            guard fsync(descriptor) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            synced()
            if unnamed {
                // A name for the whole file at once (a link can replace nothing, so it takes the temporary name first)
                let failed = UnnamedFile.name(descriptor, as: temporary)
                guard failed == 0 else { throw POSIXError(POSIXErrorCode(rawValue: failed) ?? .EIO) }
                unnamed = false
            }
        }
        guard rename(temporary, target) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        renamed = true
    }
}
