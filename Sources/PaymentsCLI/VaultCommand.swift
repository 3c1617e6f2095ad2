import ArgumentParser
import Foundation
import Payments
import PaymentsCore
import Synchronization

/// `payments vault`: the card vault's keys.
struct VaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vault",
        abstract: "Show or rotate the card vault's keys.",
        subcommands: [VaultRotateCommand.self, VaultStatusCommand.self]
    )
}

/// `payments vault rotate`: re-seals every card not sealed under the current vault key.
struct VaultRotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Re-seal every card under the current vault key (PAYMENTS_VAULT_KEY).",
        discussion: """
            Cards sealed under an old key (PAYMENTS_VAULT_OLD_KEYS) are opened and sealed again under \
            PAYMENTS_VAULT_KEY, in batches of one transaction each. Safe beside a running server configured with \
            the same keys, and safe to stop at any point: run it again and it goes on where it stopped. Exits 1 \
            when some card could not be opened (its key is not configured), naming the payment methods.
            """
    )

    @OptionGroup var options: DatabaseOptions

    @Option(name: .long, help: "Cards per batch (one transaction each).")
    var batchSize = VaultRotation.defaultBatchSize

    func validate() throws {
        // It was read as 1 below 1, and taken as it came above (a batch of every card, in one transaction)
        guard (1...SweepCommand.batchSizeLimit).contains(batchSize) else {
            throw ValidationError("--batch-size must be between 1 and \(SweepCommand.batchSizeLimit).")
        }
    }

    /// How often a progress line is printed at most: often enough to see it move, rarely enough not to flood a
    /// log on a large vault.
    static let progressInterval: Duration = .seconds(1)

    func run() async throws {
        let settings = try await ServiceSettings.load(
            options.overrides
        )
        let (store, vault, faults) = try await Bootstrap.openVault(settings, label: "payments.vault")
        let rotation = VaultRotation(store: store, vault: vault, batchSize: batchSize, faults: faults)
        Self.write("rotating the card vault of \(settings.databaseName) to key \(vault.keyID)\n")
        let lastPrinted = Mutex<ContinuousClock.Instant?>(nil)
        let summary = try await rotation.run { progress in
            let now = ContinuousClock.now
            let due = lastPrinted.withLock { last in
                guard last.map({ now - $0 >= Self.progressInterval }) ?? true else { return false }
                last = now
                return true
            }
            if due {
                Self.write(
                    "  \(progress.rotated + progress.unreadable.count + progress.changedMeanwhile) of "
                        + "\(progress.toRotate) cards done\n"
                )
            }
        }
        let lines: [(String, String)] = [
            ("cards rotated", "\(summary.rotated)"),
            ("cards already current", "\(summary.alreadyCurrent)"),
            ("cards changed meanwhile", "\(summary.changedMeanwhile)"),
            ("cards that could not be opened", "\(summary.unreadable.count)"),
            ("fingerprint keys", summary.secretsRotated ? "re-sealed" : "already current"),
        ]
        let width = lines.map(\.0.count).max() ?? 0
        var text = ""
        for (label, value) in lines {
            text += "  " + label + ":" + String(repeating: " ", count: width - label.count + 1) + value + "\n"
        }
        Self.write(text)
        guard summary.unreadable.isEmpty else {
            let unknownKey = summary.unreadable.filter { !summary.damaged.contains($0) }
            if !unknownKey.isEmpty {
                FileHandle.standardError.write(
                    Data(
                        ("payments vault rotate: these payment methods' cards are sealed under a key that is not "
                            + "configured (add the key that sealed them to PAYMENTS_VAULT_OLD_KEYS and run again): "
                            + unknownKey.joined(separator: ", ") + "\n").utf8
                    )
                )
            }
            if !summary.damaged.isEmpty {
                // Their key is configured: the advice to add it was wrong for them
                FileHandle.standardError.write(
                    Data(
                        ("payments vault rotate: these payment methods' cards do not open under the configured key "
                            + "their rows name, so their sealed bytes are damaged (left as they are): restore their "
                            + "card_vault rows from a backup, or ask the customers to enter the cards again: "
                            + summary.damaged.joined(separator: ", ") + "\n").utf8
                    )
                )
            }
            throw ExitCode(1)
        }
    }

    /// A rotation goes on when its output cannot be written (it is said on standard error once a write fails), and
    /// ends by SIGPIPE, as any filter's, when its reader is gone: each batch committed is kept.
    private static func write(_ text: String) {
        try? StandardOutput.write(text, command: "vault rotate")
    }
}

/// `payments vault status`: the configured keys' ids and how many cards each sealed.
struct VaultStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the vault keys' ids and how many cards each one sealed (never a key)."
    )

    @OptionGroup var options: DatabaseOptions

    func run() async throws {
        let settings = try await ServiceSettings.load(
            options.overrides
        )
        // The counts need only the configured keys' ids, not the database's fingerprint keys: they are printed even
        // when those do not open under the configured keys, which is when a merchant needs them most (a server's 500
        // for a card under a key it lacks points here). Whether the keys open the database is said after them.
        let store = try await Bootstrap.openExisting(settings, label: "payments.vault")
        let vault = try CardVault(base64Key: settings.vaultKey, oldKeys: settings.vaultOldKeys)
        let counts = try await store.read { tx in try tx.sealedCardCounts() }
        var text = "card vault of \(settings.databaseName)\n"
        text += "  current key \(vault.keyID): \(counts[vault.keyID] ?? 0) cards\n"
        for id in vault.oldKeyIDs { text += "  old key \(id): \(counts[id] ?? 0) cards\n" }
        for (id, count) in counts.sorted(by: { $0.key < $1.key }) where !vault.hasKey(id) {
            text += "  key \(id) (not configured): \(count) cards\n"
        }
        try StandardOutput.write(text, command: "vault")
        _ = try await CardVault.load(currentKey: settings.vaultKey, oldKeys: settings.vaultOldKeys, store: store)
    }
}
