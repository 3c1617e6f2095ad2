import Foundation
import PaymentsCore

/// Who a sweeper is, for the rules' leases (`sweeper_leases`), and the lease it holds on the rule it runs.
public struct SweeperLeaseHolder: Sendable {
    /// The holder id written in the leases: random per process.
    public let id: String
    /// Seconds a lease lasts from each take or renewal.
    public let seconds: Int64
    /// The clock leases are taken by: the process's real time, even when a pass treats another time as now
    /// (`payments sweep --now`), since a lease orders real processes in real time.
    public let clock: UnixClock

    /// This process's holder id: the host name, the process id and 64 random bits (what an admin reading
    /// `sweeper_leases` sees, and what keeps two processes on one host apart).
    public static let processID: String = {
        let info = ProcessInfo.processInfo
        let random = String(UInt64.random(in: .min ... .max), radix: 16)
        return "\(info.hostName):\(info.processIdentifier):\(random)"
    }()

    /// Creates a holder.
    /// - Parameters:
    ///   - id: the holder id (default: this process's).
    ///   - seconds: how long each take or renewal lasts (at least 1).
    ///   - clock: the real time the leases are taken by.
    public init(id: String = SweeperLeaseHolder.processID, seconds: Int64, clock: UnixClock) {
        self.id = id
        self.seconds = max(1, seconds)
        self.clock = clock
    }

    /// The lease a pass holds on one rule while it runs it. A pass takes it with the rule's first change (a rule with
    /// nothing due writes nothing at all), so it starts out not held.
    final class Hold {
        let rule: SweeperRule
        /// Whether this pass holds the lease now (taken or renewed by a committed transaction, not released since).
        var held = false
        /// When the lease was last taken or renewed (the holder's clock).
        var renewedAt: Int64 = 0

        init(rule: SweeperRule) {
            self.rule = rule
        }
    }

    /// Whether another holder's lease on `rule` still runs, as of the holder's clock now: read inside `tx`, taking
    /// nothing (``take(_:in:)`` would refuse it).
    func heldElsewhere(_ rule: SweeperRule, in tx: any StoreTransaction) throws -> Bool {
        guard let lease = try tx.sweeperLease(rule: rule.rawValue) else { return false }
        return lease.holder != id && lease.leasedUntil > clock.now()
    }

    /// Takes or renews `rule`'s lease for this holder inside `tx`, as of the holder's clock now.
    /// - Returns: the time it was taken at, or nil when another holder's lease still runs (nothing changes then).
    func take(_ rule: SweeperRule, in tx: any StoreTransaction) throws -> Int64? {
        let now = clock.now()
        let taken = try tx.takeSweeperLease(rule: rule.rawValue, holder: id, now: now, leasedUntil: now + seconds)
        return taken ? now : nil
    }
}
