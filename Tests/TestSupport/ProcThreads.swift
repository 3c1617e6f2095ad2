import Foundation

/// A process's threads as Linux shows them in `/proc`: their names and nice values (for the tests of which thread
/// runs what, at which priority).
public enum ProcThreads {
    /// What `/proc` did not show as expected.
    public struct Unreadable: Error, CustomStringConvertible {
        public let description: String
    }

    /// The threads of process `pid` (`"self"` for this one): each one's name, and its folder in `/proc`. A thread
    /// that ends between the listing and the reading of its name is left out: it is gone.
    public static func threads(ofProcess pid: String) throws -> [(name: String, folder: String)] {
        let tasks = "/proc/\(pid)/task"
        return try FileManager.default.contentsOfDirectory(atPath: tasks).compactMap { task in
            guard let name = try? String(contentsOfFile: "\(tasks)/\(task)/comm", encoding: .utf8) else { return nil }
            return (name.trimmingCharacters(in: .whitespacesAndNewlines), "\(tasks)/\(task)")
        }
    }

    /// The name of the thread (or process) whose `/proc` folder is `folder`: `/proc/thread-self` for the caller's.
    public static func name(_ folder: String) throws -> String {
        try String(contentsOfFile: "\(folder)/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The nice value of the thread (or process) whose `/proc` folder is `folder`: its `stat` reads "pid (comm)
    /// state ...", and the nice value is the nineteenth field (the comm may hold spaces and parentheses, so the
    /// fields are counted from its last closing parenthesis).
    public static func niceness(_ folder: String) throws -> Int {
        let stat = try String(contentsOfFile: "\(folder)/stat", encoding: .utf8)
        guard let end = stat.lastIndex(of: ")") else { throw Unreadable(description: "no comm in \(stat)") }
        // After the comm, the first field is the third: the state
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 16, let nice = Int(fields[16]) else {
            throw Unreadable(description: "no nice value in \(stat)")
        }
        return nice
    }
}
