extension IdempotencyKey {
    /// What a new request with this key's (method, path, parameters' fingerprint) must do, as of `now`; nil when
    /// the key is free for it to take (nobody holds it, or its holder's lease ran out before `now`).
    ///
    /// The one rule every store applies in its begin phase, and that the owner applies on a read snapshot first,
    /// so that replays, 409s and mismatches cost no write at all.
    public func decision(method: String, path: String, fingerprint: String, now: Int64) -> IdempotencyBegin? {
        guard self.path == path && self.method == method else {
            return .mismatch(samePath: false, firstPath: self.path)
        }
        guard self.fingerprint == fingerprint else { return .mismatch(samePath: true, firstPath: self.path) }
        if recoveryPoint == .finished { return .replay(self) }
        if lockedBy != nil, let until = lockedUntil, until > now { return .inFlight(lockedUntil: until) }
        return nil
    }
}
