import PaymentsCore

/// Re-seals every card (and the fingerprint keys) not sealed under the vault's current key: `payments vault
/// rotate`.
///
/// It works in batches, each read on a snapshot, opened and re-sealed outside any transaction, and written in one
/// short transaction whose updates are compare-and-set on the row's key id: a row that changed meanwhile (another
/// rotation got there first) is left as it is. Nothing but the rows' key ids records progress, so a run killed at
/// any point is resumed by running it again: rows already under the current key are not read again. A server on
/// the same database keeps working throughout, as long as it has both keys (it opens a row under the key the row
/// names). Fingerprints are not touched: their keys are kept apart from the vault key (see ``CardVault``).
public struct VaultRotation: Sendable {
    let store: any PaymentStore
    let vault: CardVault
    let batchSize: Int
    let faults: FaultInjector

    /// Rows per batch by default: each batch is one write transaction that holds SQLite's write lock while it
    /// runs, so small enough that a server's requests beside it wait a few milliseconds at most.
    public static let defaultBatchSize = 100

    /// What a rotation did.
    public struct Summary: Sendable, Equatable {
        /// Cards re-sealed under the current key by this run.
        public var rotated = 0
        /// Cards that were under the current key already when the run started.
        public var alreadyCurrent = 0
        /// Cards another writer changed between this run's read and its write (left as that writer left them).
        public var changedMeanwhile = 0
        /// Payment methods whose card could not be opened: their key is not configured, or their bytes do not
        /// open. Never their card data.
        public var unreadable: [String] = []
        /// Of ``unreadable``, those whose key is configured: their sealed bytes are damaged.
        public var damaged: [String] = []
        /// Cards under another key when the run started: what it had to do.
        public var toRotate = 0
        /// Whether the fingerprint keys were re-sealed by this run.
        public var secretsRotated = false
    }

    /// Creates a rotation to `vault`'s current key over `store`.
    public init(
        store: any PaymentStore,
        vault: CardVault,
        batchSize: Int = VaultRotation.defaultBatchSize,
        faults: FaultInjector = .inert
    ) {
        self.store = store
        self.vault = vault
        self.batchSize = max(1, batchSize)
        self.faults = faults
    }

    /// Runs the rotation to the end, calling `progress` after each batch.
    /// - Throws: a store error (nothing of the batch it happened in is kept).
    public func run(progress: @Sendable (Summary) -> Void = { _ in }) async throws -> Summary {
        var summary = Summary()
        let current = vault.keyID
        let counts = try await store.read { tx in try tx.sealedCardCounts() }
        summary.alreadyCurrent = counts[current] ?? 0
        summary.toRotate = counts.filter { $0.key != current }.values.reduce(0, +)
        summary.secretsRotated = try await rotateSecrets()
        var cursor: String?
        while true {
            let after = cursor
            let batch = try await store.read { [batchSize] tx in
                try tx.sealedCards(notUnder: current, after: after, limit: batchSize)
            }
            guard let last = batch.last else { break }
            cursor = last.paymentMethod
            var resealed: [(entry: VaultEntry, card: SealedCard)] = []
            for entry in batch {
                do {
                    resealed.append((entry, try vault.resealed(entry.card)))
                } catch {
                    summary.unreadable.append(entry.paymentMethod)
                    // A key that is configured and does not open the card: no key added would help
                    if case CardVault.VaultError.unreadable = error { summary.damaged.append(entry.paymentMethod) }
                }
            }
            let replacements = resealed
            let written = try await store.write { tx in
                try replacements.filter { pair in
                    try tx.replaceSealedCard(
                        of: pair.entry.paymentMethod,
                        expecting: pair.entry.card.keyID,
                        with: pair.card
                    )
                }.count
            }
            summary.rotated += written
            summary.changedMeanwhile += replacements.count - written
            progress(summary)
            try await faults.reach(.afterRotateBatch)
        }
        return summary
    }

    /// Re-seals the fingerprint keys under the current key when another key sealed them.
    /// - Returns: whether they were re-sealed.
    private func rotateSecrets() async throws -> Bool {
        guard let stored = try await store.read({ tx in try tx.vaultSecret(CardVault.secretsName) }),
            stored.keyID != vault.keyID
        else { return false }
        let resealed = try vault.with(try vault.openSecrets(stored)).sealedSecrets()
        return try await store.write { tx in
            try tx.replaceVaultSecret(CardVault.secretsName, expecting: stored.keyID, with: resealed)
        }
    }
}
