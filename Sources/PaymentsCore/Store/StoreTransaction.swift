/// The named operations of one store transaction, as ``PaymentStore/write(_:)`` and ``PaymentStore/read(_:)`` hand
/// it to their body. Use cases compose these and call pure Core rules between them; everything done through one
/// transaction commits together or not at all. It must not escape the closure it is handed to.
public protocol StoreTransaction {
    // MARK: - Commit hooks

    /// Runs `action` once this transaction has committed (never if it rolls back).
    func afterCommit(_ action: @escaping @Sendable () -> Void)
    /// Runs `action` if this transaction rolls back.
    func onRollback(_ action: @escaping @Sendable () -> Void)

    // MARK: - PaymentIntents

    /// The intent with `id`, if any.
    func paymentIntent(_ id: String) throws -> PaymentIntent?
    /// Inserts a new intent.
    func insert(_ intent: PaymentIntent) throws
    /// Saves `intent` if its status is still `expected` (compare-and-set).
    /// - Returns: false when another writer changed the status first (nothing changes then).
    @discardableResult func update(_ intent: PaymentIntent, expecting expected: PaymentIntentStatus) throws -> Bool
    /// Saves each intent of `changes` if its status is still its `before`'s (compare-and-set, as
    /// ``update(_:expecting:)-(PaymentIntent,_)`` does), in as few statements as the store can (the sweeper saves
    /// hundreds at a time).
    /// - Precondition: each `before` was read in this transaction, and the intent not written since (a store may
    ///   write only the columns that differ from it).
    /// - Returns: the ids of the intents saved (the others changed status first; nothing of them changes).
    func update(intents changes: [(intent: PaymentIntent, before: PaymentIntent)]) throws -> Set<String>
    /// Payment intents, newest first, optionally for one customer and within a `created` range.
    func paymentIntents(customer: String?, created: CreatedFilter?, page: PageRequest) throws -> Page<PaymentIntent>

    // MARK: - SetupIntents

    /// The setup intent with `id`, if any.
    func setupIntent(_ id: String) throws -> SetupIntent?
    /// Inserts a new setup intent.
    func insert(_ setupIntent: SetupIntent) throws
    /// Saves `setupIntent` if its status is still `expected` (compare-and-set).
    /// - Returns: false when another writer changed the status first (nothing changes then).
    @discardableResult func update(_ setupIntent: SetupIntent, expecting expected: SetupIntentStatus) throws -> Bool
    /// Setup intents, newest first, optionally for one customer, one payment method and within a `created` range.
    func setupIntents(customer: String?, paymentMethod: String?, created: CreatedFilter?, page: PageRequest) throws
        -> Page<SetupIntent>

    // MARK: - Charges

    /// The charge with `id`, if any.
    func charge(_ id: String) throws -> Charge?
    /// The payment intent of the charge `id` (nil when there is no such charge), read without locking the charge's
    /// row (PostgreSQL): a write that changes a charge and its intent locks the intent first, the order every other
    /// write on an intent takes (a confirm, a capture, a cancel lock the intent, then its charge), so two never
    /// wait for each other. A charge's intent never changes.
    func paymentIntent(ofCharge id: String) throws -> String?
    /// Inserts a charge. A second succeeded charge for one intent is refused.
    func insert(_ charge: Charge) throws
    /// Saves a charge's new state.
    func update(_ charge: Charge) throws
    /// Inserts `charges`, as ``insert(_:)-(Charge)`` inserts each, in as few statements as the store can (the
    /// sweeper writes hundreds at a time).
    func insert(charges: [Charge]) throws
    /// Saves each charge of `changes`, as ``update(_:)-(Charge)`` saves each, in as few statements as the store can.
    /// - Precondition: each `before` was read in this transaction, and the charge not written since.
    func update(charges changes: [(charge: Charge, before: Charge)]) throws
    /// The attempts in flight on a payment method (its charges still `pending`), read through the pending charges'
    /// partial index: as few as the payments confirming it this moment.
    func pendingCharges(paymentMethod: String) throws -> [Charge]
    /// Charges, newest first, optionally for one customer or intent and within a `created` range.
    func charges(customer: String?, paymentIntent: String?, created: CreatedFilter?, page: PageRequest) throws
        -> Page<Charge>

    // MARK: - PaymentMethods and the sealed cards

    /// The payment method with `id`, if any.
    func paymentMethod(_ id: String) throws -> PaymentMethod?
    /// The customer the payment method `id` is attached to (nil when it is not, or there is no such payment method),
    /// read without locking the payment method's row (PostgreSQL): a write that changes a payment method and then its
    /// customer locks the customer first with it, the order every write on a customer takes (deleting one locks the
    /// customer, then its payment methods), so the two never wait for each other.
    func customer(ofPaymentMethod id: String) throws -> String?
    /// Inserts a payment method with its sealed card, together.
    func insert(_ paymentMethod: PaymentMethod, card: SealedCard) throws
    /// Saves a payment method's new state.
    func update(_ paymentMethod: PaymentMethod) throws
    /// The sealed card of a payment method.
    func sealedCard(of paymentMethodID: String) throws -> SealedCard?
    /// Detaches every payment method of a customer (deleting a customer), so none can be used again.
    func detachPaymentMethods(ofCustomer customer: String) throws
    /// A customer's attached payment methods, newest first.
    func paymentMethods(customer: String, page: PageRequest) throws -> Page<PaymentMethod>

    // MARK: - The vault's rows and secrets (key rotation)

    /// Sealed cards not sealed under `keyID`, in payment method id order after `paymentMethodID` (from the first
    /// when nil), at most `limit`.
    func sealedCards(notUnder keyID: String, after paymentMethodID: String?, limit: Int) throws -> [VaultEntry]
    /// Replaces the sealed card of `paymentMethodID` with `card` if it is still sealed under the key `expected`
    /// (compare-and-set, so a concurrent writer's newer row is never overwritten).
    /// - Returns: whether the row was replaced.
    @discardableResult func replaceSealedCard(
        of paymentMethodID: String,
        expecting expected: String,
        with card: SealedCard
    )
        throws -> Bool
    /// How many sealed cards each vault key sealed, by key id.
    func sealedCardCounts() throws -> [String: Int]
    /// The vault's secret `name` (sealed like a card), if stored.
    func vaultSecret(_ name: String) throws -> SealedCard?
    /// Stores the vault's secret `name` unless it is stored already.
    /// - Returns: whether it was stored (false: another process stored it first; read it back).
    @discardableResult func insertVaultSecret(_ name: String, _ sealed: SealedCard) throws -> Bool
    /// Replaces the vault's secret `name` if it is still sealed under the key `expected` (compare-and-set).
    /// - Returns: whether it was replaced.
    @discardableResult func replaceVaultSecret(_ name: String, expecting expected: String, with sealed: SealedCard)
        throws -> Bool

    // MARK: - Customers

    /// The customer with `id`, deleted or not, if any.
    func customer(_ id: String) throws -> Customer?
    /// Inserts a customer.
    func insert(_ customer: Customer) throws
    /// Saves a customer's new state.
    func update(_ customer: Customer) throws
    /// Customers that are not deleted, newest first, optionally with an exact email.
    func customers(email: String?, created: CreatedFilter?, page: PageRequest) throws -> Page<Customer>

    // MARK: - Refunds

    /// The refund with `id`, if any.
    func refund(_ id: String) throws -> Refund?
    /// Inserts a refund.
    func insert(_ refund: Refund) throws
    /// Saves a refund's new state.
    func update(_ refund: Refund) throws
    /// Refunds, newest first, optionally for one intent or charge and within a `created` range.
    func refunds(paymentIntent: String?, charge: String?, created: CreatedFilter?, page: PageRequest) throws
        -> Page<Refund>

    // MARK: - Events

    /// Records an event (in the transaction of the change it records).
    func insert(_ event: Event) throws
    /// Records `events` (in the transaction of the changes they record), in as few statements as the store can.
    func insert(events: [Event]) throws
    /// The event with `id`, if any.
    func event(_ id: String) throws -> Event?
    /// Events, newest first, of any of `types` (every type when empty) and within a `created` range.
    func events(types: [String], created: CreatedFilter?, page: PageRequest) throws -> Page<Event>
    /// Deletes up to `limit` of the oldest events created before `cutoff`; returns how many.
    func pruneEvents(createdBefore cutoff: Int64, limit: Int) throws -> Int

    // MARK: - Idempotency keys

    /// The begin phase: inserts the key held by `token` until `lockedUntil`, takes over a key whose holder's lease
    /// ran out before `now`, or reports what the key's first request left.
    func beginIdempotentRequest(
        apiKey: String,
        key: String,
        method: String,
        path: String,
        fingerprint: String,
        requestID: String,
        token: String,
        now: Int64,
        lockedUntil: Int64,
        expiresAt: Int64?
    ) throws -> IdempotencyBegin
    /// Records how far the key's request got.
    /// - Throws: ``IdempotencyLeaseLost`` when `token` no longer holds the key.
    func markIdempotentProgress(
        apiKey: String,
        key: String,
        token: String,
        point: IdempotencyKey.RecoveryPoint,
        paymentIntent: String?,
        charge: String?,
        refund: String?
    ) throws
    /// Saves the response and ends the lease; records `paymentIntent` as the key's intent when given (a new intent
    /// is first recorded here when its request finishes in the transaction that created it).
    /// - Throws: ``IdempotencyLeaseLost`` when `token` no longer holds the key.
    func finishIdempotentRequest(
        apiKey: String,
        key: String,
        token: String,
        status: Int,
        body: [UInt8],
        paymentIntent: String?
    ) throws
    /// Ends a lease without a response: forgets a key at its start, unlocks one with a recovery point; does nothing
    /// when `token` no longer holds the key.
    func releaseIdempotentRequest(apiKey: String, key: String, token: String) throws
    /// Extends to `until` each lease of `held` that its token still holds (a live holder's renewal, by the process
    /// running it); a key whose request finished, or that another request took over, is left as it is, and so is a
    /// lease that already runs later.
    func renewIdempotencyLeases(_ held: [HeldIdempotencyKey], until: Int64) throws
    /// The key row, if any.
    func idempotencyKey(apiKey: String, key: String) throws -> IdempotencyKey?
    /// Deletes up to `limit` keys that expired before `now` and that nobody holds at `realNow` (a lease is real
    /// time, even when a sweep treats another time as now); returns how many.
    func pruneIdempotencyKeys(expiredBefore now: Int64, unheldAt realNow: Int64, limit: Int) throws -> Int
    /// Moves up to `limit` keys of the scope `old` to the scope `new`, in key order after `key`; a key the scope
    /// `new` holds already stays where it is (and ages out).
    /// - Returns: the last key looked at (nil when there were none) and how many moved.
    func rescopeIdempotencyKeys(from old: String, to new: String, after key: String, limit: Int) throws
        -> (last: String?, moved: Int)

    // MARK: - Sweeper leases

    /// Takes the lease on the sweeper's `rule` for `holder` until `leasedUntil`, in one compare-and-set statement:
    /// inserts it when nobody holds it, takes it over when its holder's lease ran out at or before `now`, or renews it
    /// when `holder` holds it already.
    /// - Returns: whether `holder` holds the lease now (false: another holder's lease runs past `now`).
    func takeSweeperLease(rule: String, holder: String, now: Int64, leasedUntil: Int64) throws -> Bool
    /// Ends `holder`'s lease on `rule`; does nothing when another holder has it.
    /// - Returns: whether `holder`'s lease was ended.
    @discardableResult func releaseSweeperLease(rule: String, holder: String) throws -> Bool
    /// The lease on `rule`, if anyone holds (or held and never released) it.
    func sweeperLease(rule: String) throws -> SweeperLease?

    // MARK: - What the sweeper and recovery find due

    /// Intents in `requires_action` or `requires_confirmation` whose attempt expired at or before `now`.
    func attemptsDue(at now: Int64, limit: Int) throws -> [PaymentIntent]
    /// Setup intents in `requires_action` whose attempt expired at or before `now`.
    func setupAttemptsDue(at now: Int64, limit: Int) throws -> [SetupIntent]
    /// `requires_capture` intents with a capture or release asked of the network and not recorded
    /// (``PaymentIntent/settling``), oldest first.
    func intentsAwaitingSettlement(limit: Int) throws -> [PaymentIntent]
    /// `requires_capture` intents authorized at or before `cutoff`, after `position`, oldest first.
    func authorizationsDue(authorizedAtOrBefore cutoff: Int64, after position: SweepPosition, limit: Int) throws
        -> [(position: SweepPosition, intent: PaymentIntent)]
    /// The ids of charges still pending, created at or before `cutoff`, after `position`, oldest first.
    func pendingChargesDue(createdAtOrBefore cutoff: Int64, after position: SweepPosition, limit: Int) throws
        -> [(position: SweepPosition, charge: String)]
    /// The ids of refunds still pending that the network never answered, created before `cutoff`, oldest first.
    func pendingRefunds(createdBefore cutoff: Int64, limit: Int) throws -> [String]
    /// The ids of refunds whose network status was due to change at or before `now`, after `position`, soonest
    /// first.
    func refundsSettling(at now: Int64, after position: SweepPosition, limit: Int) throws
        -> [(position: SweepPosition, refund: String)]
}

extension StoreTransaction {
    /// Records how far the key's request got (``markIdempotentProgress(apiKey:key:token:point:paymentIntent:charge:refund:)``
    /// naming only what it names).
    public func markIdempotentProgress(
        apiKey: String,
        key: String,
        token: String,
        point: IdempotencyKey.RecoveryPoint,
        paymentIntent: String? = nil,
        charge: String? = nil
    ) throws {
        try markIdempotentProgress(
            apiKey: apiKey,
            key: key,
            token: token,
            point: point,
            paymentIntent: paymentIntent,
            charge: charge,
            refund: nil
        )
    }
}
