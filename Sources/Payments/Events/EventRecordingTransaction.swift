import Foundation
import PaymentsCore

/// The store transaction the use cases write through: every insert or update of an intent, charge, refund,
/// customer or payment method also records the Stripe events the change makes (``EventTypes``), in the same
/// transaction — so no change commits without its events, and a change that rolls back leaves none.
///
/// Recording here, around the store, rather than at each call site of the use cases, means no use case (today's or
/// a future one) can change an object and forget its event; and every store gets it without repeating it.
struct EventRecordingTransaction: StoreTransaction {
    let base: any StoreTransaction
    let ids: IDGenerator
    /// The time the events are stamped with: the transaction's time.
    let now: Int64
    /// The API request the transaction serves, named by its events; nil for the service's own changes.
    var request: Event.Request? = nil
    /// Snapshots made before the transaction, used for the values they were made from.
    var prepared: PreparedSnapshots? = nil
    /// Inside ``StoreTransaction/inBatch(_:)``: the charges inserted and the events recorded, held back to be written
    /// together at the batch's end.
    var batch: BatchedInserts? = nil

    /// Records the events `types` of `object` (a snapshot of it after the change); an `*.updated` event also keeps
    /// `before`, the object before the change, for its `previous_attributes`.
    func record<T: Encodable>(
        _ types: [String],
        _ object: T,
        type: Event.ObjectType,
        id: String,
        before: T? = nil
    ) throws {
        guard !types.isEmpty else { return }
        let refunds = type == .charge ? try refundsOfCharge(object) : nil
        let snapshot =
            try refunds.flatMap { refunds in
                try (object as? Charge).map { try EventSnapshot.json($0, refunds: refunds) }
            }
            ?? prepared?.snapshot(of: object) ?? Self.snapshot(object)
        let previous = try before.flatMap { before -> [UInt8]? in
            guard types.contains(where: { $0.hasSuffix(".updated") }) else { return nil }
            // A charge's update (its description, metadata, receipt email or shipping) changes none of its refunds:
            // the earlier snapshot lists the same ones. Without them, `previous_attributes` said the charge had had
            // no refunds.
            if let refunds, let charge = before as? Charge { return try EventSnapshot.json(charge, refunds: refunds) }
            return try Self.snapshot(before)
        }
        for name in types {
            let event = Event(
                id: ids.event(),
                created: now,
                type: name,
                objectType: type,
                objectID: id,
                snapshot: snapshot,
                previousSnapshot: name.hasSuffix(".updated") ? previous : nil,
                requestID: request?.id,
                idempotencyKey: request?.idempotencyKey
            )
            if let batch { batch.events.append(event) } else { try base.insert(event) }
        }
    }

    /// The first page of a charge's refunds, newest first, as `GET /v1/charges/:id` shows them right after the change,
    /// for its snapshot (a `charge.refunded` listed no refunds while its `amount_refunded` counted them); nil for
    /// every other object, and for a charge no refund has reserved an amount on, whose snapshot needs no read:
    /// every new payment's, and a released authorization's (its `amountRefunded` is a hold, with no refunds).
    private func refundsOfCharge<T>(_ object: T) throws -> Page<Refund>? {
        guard let charge = object as? Charge, charge.captured, charge.amountRefunded > 0 else { return nil }
        return try base.refunds(paymentIntent: nil, charge: charge.id, created: nil, page: PageRequest())
    }

    /// `object` as an event's JSON snapshot: intents and charges, the objects most events show, by the hand-written
    /// ``EventSnapshot``; the others by `JSONEncoder`.
    static func snapshot<T: Encodable>(_ object: T) throws -> [UInt8] {
        if let intent = object as? PaymentIntent { return EventSnapshot.json(intent) }
        if let charge = object as? Charge { return EventSnapshot.json(charge) }
        return Array(try EventSnapshot.encoder.encode(object))
    }

    // MARK: - Commit hooks

    func afterCommit(_ action: @escaping @Sendable () -> Void) { base.afterCommit(action) }
    func onRollback(_ action: @escaping @Sendable () -> Void) { base.onRollback(action) }

    // MARK: - PaymentIntents

    func paymentIntent(_ id: String) throws -> PaymentIntent? { try base.paymentIntent(id) }

    func insert(_ intent: PaymentIntent) throws {
        try base.insert(intent)
        try record(EventTypes.paymentIntent(before: nil, after: intent), intent, type: .paymentIntent, id: intent.id)
    }

    @discardableResult
    func update(_ intent: PaymentIntent, expecting expected: PaymentIntentStatus) throws -> Bool {
        let before = try base.paymentIntent(intent.id)
        guard try base.update(intent, expecting: expected), let before else { return false }
        try record(EventTypes.paymentIntent(before: before, after: intent), intent, type: .paymentIntent, id: intent.id)
        return true
    }

    func update(intents changes: [(intent: PaymentIntent, before: PaymentIntent)]) throws -> Set<String> {
        let saved = try base.update(intents: changes)
        for (intent, before) in changes where saved.contains(intent.id) {
            try record(
                EventTypes.paymentIntent(before: before, after: intent),
                intent,
                type: .paymentIntent,
                id: intent.id
            )
        }
        return saved
    }

    func paymentIntents(customer: String?, created: CreatedFilter?, page: PageRequest) throws -> Page<PaymentIntent> {
        try base.paymentIntents(customer: customer, created: created, page: page)
    }

    // MARK: - SetupIntents

    func setupIntent(_ id: String) throws -> SetupIntent? { try base.setupIntent(id) }

    func insert(_ setupIntent: SetupIntent) throws {
        try base.insert(setupIntent)
        try record(
            EventTypes.setupIntent(before: nil, after: setupIntent),
            setupIntent,
            type: .setupIntent,
            id: setupIntent.id
        )
    }

    @discardableResult
    func update(_ setupIntent: SetupIntent, expecting expected: SetupIntentStatus) throws -> Bool {
        let before = try base.setupIntent(setupIntent.id)
        guard try base.update(setupIntent, expecting: expected), let before else { return false }
        try record(
            EventTypes.setupIntent(before: before, after: setupIntent),
            setupIntent,
            type: .setupIntent,
            id: setupIntent.id
        )
        return true
    }

    func setupIntents(customer: String?, paymentMethod: String?, created: CreatedFilter?, page: PageRequest) throws
        -> Page<SetupIntent>
    {
        try base.setupIntents(customer: customer, paymentMethod: paymentMethod, created: created, page: page)
    }

    func setupAttemptsDue(at now: Int64, limit: Int) throws -> [SetupIntent] {
        try base.setupAttemptsDue(at: now, limit: limit)
    }

    // MARK: - Charges

    func charge(_ id: String) throws -> Charge? { try base.charge(id) }

    func paymentIntent(ofCharge id: String) throws -> String? { try base.paymentIntent(ofCharge: id) }

    func pendingCharges(paymentMethod: String) throws -> [Charge] {
        try base.pendingCharges(paymentMethod: paymentMethod)
    }

    func insert(_ charge: Charge) throws {
        if let batch { batch.charges.append(charge) } else { try base.insert(charge) }
        try record(EventTypes.charge(before: nil, after: charge), charge, type: .charge, id: charge.id)
    }

    func update(charges changes: [(charge: Charge, before: Charge)]) throws {
        if let batch { batch.chargeUpdates += changes } else { try base.update(charges: changes) }
        for (charge, before) in changes {
            let types = EventTypes.charge(before: before, after: charge)
            try record(types, charge, type: .charge, id: charge.id, before: before)
        }
    }

    func insert(charges: [Charge]) throws {
        if let batch { batch.charges += charges } else { try base.insert(charges: charges) }
        for charge in charges {
            try record(EventTypes.charge(before: nil, after: charge), charge, type: .charge, id: charge.id)
        }
    }

    func update(_ charge: Charge) throws {
        let before = try base.charge(charge.id)
        try base.update(charge)
        try record(
            EventTypes.charge(before: before, after: charge),
            charge,
            type: .charge,
            id: charge.id,
            before: before
        )
    }

    func charges(customer: String?, paymentIntent: String?, created: CreatedFilter?, page: PageRequest) throws
        -> Page<Charge>
    {
        try base.charges(customer: customer, paymentIntent: paymentIntent, created: created, page: page)
    }

    // MARK: - PaymentMethods

    func paymentMethod(_ id: String) throws -> PaymentMethod? { try base.paymentMethod(id) }

    func customer(ofPaymentMethod id: String) throws -> String? { try base.customer(ofPaymentMethod: id) }

    func insert(_ paymentMethod: PaymentMethod, card: SealedCard) throws {
        try base.insert(paymentMethod, card: card)
        try record(
            EventTypes.paymentMethod(before: nil, after: paymentMethod),
            paymentMethod,
            type: .paymentMethod,
            id: paymentMethod.id
        )
    }

    func update(_ paymentMethod: PaymentMethod) throws {
        let before = try base.paymentMethod(paymentMethod.id)
        try base.update(paymentMethod)
        try record(
            EventTypes.paymentMethod(before: before, after: paymentMethod),
            paymentMethod,
            type: .paymentMethod,
            id: paymentMethod.id,
            before: before
        )
    }

    func sealedCard(of paymentMethodID: String) throws -> SealedCard? { try base.sealedCard(of: paymentMethodID) }

    func sealedCards(notUnder keyID: String, after paymentMethodID: String?, limit: Int) throws -> [VaultEntry] {
        try base.sealedCards(notUnder: keyID, after: paymentMethodID, limit: limit)
    }

    func replaceSealedCard(of paymentMethodID: String, expecting expected: String, with card: SealedCard) throws
        -> Bool
    { try base.replaceSealedCard(of: paymentMethodID, expecting: expected, with: card) }

    func sealedCardCounts() throws -> [String: Int] { try base.sealedCardCounts() }

    func vaultSecret(_ name: String) throws -> SealedCard? { try base.vaultSecret(name) }

    func insertVaultSecret(_ name: String, _ sealed: SealedCard) throws -> Bool {
        try base.insertVaultSecret(name, sealed)
    }

    func replaceVaultSecret(_ name: String, expecting expected: String, with sealed: SealedCard) throws -> Bool {
        try base.replaceVaultSecret(name, expecting: expected, with: sealed)
    }

    func detachPaymentMethods(ofCustomer customer: String) throws {
        // Each detached card gets its `payment_method.detached`, read before the bulk update.
        var attached: [PaymentMethod] = []
        var page = PageRequest(limit: 100)
        while true {
            let found = try base.paymentMethods(customer: customer, page: page)
            attached += found.items
            guard found.hasMore, let last = found.items.last else { break }
            page = PageRequest(limit: 100, startingAfter: last.id)
        }
        try base.detachPaymentMethods(ofCustomer: customer)
        for before in attached {
            var after = before
            after.customer = nil
            after.reusable = false
            try record(
                EventTypes.paymentMethod(before: before, after: after),
                after,
                type: .paymentMethod,
                id: after.id
            )
        }
    }

    func paymentMethods(customer: String, page: PageRequest) throws -> Page<PaymentMethod> {
        try base.paymentMethods(customer: customer, page: page)
    }

    // MARK: - Customers

    func customer(_ id: String) throws -> Customer? { try base.customer(id) }

    func insert(_ customer: Customer) throws {
        try base.insert(customer)
        try record(EventTypes.customer(before: nil, after: customer), customer, type: .customer, id: customer.id)
    }

    func update(_ customer: Customer) throws {
        let before = try base.customer(customer.id)
        try base.update(customer)
        try record(
            EventTypes.customer(before: before, after: customer),
            customer,
            type: .customer,
            id: customer.id,
            before: before
        )
    }

    func customers(email: String?, created: CreatedFilter?, page: PageRequest) throws -> Page<Customer> {
        try base.customers(email: email, created: created, page: page)
    }

    // MARK: - Refunds

    func refund(_ id: String) throws -> Refund? { try base.refund(id) }

    func insert(_ refund: Refund) throws {
        try base.insert(refund)
        try record(EventTypes.refund(before: nil, after: refund), refund, type: .refund, id: refund.id)
        countOutcome(of: refund, before: nil)
    }

    func update(_ refund: Refund) throws {
        let before = try base.refund(refund.id)
        try base.update(refund)
        try record(
            EventTypes.refund(before: before, after: refund),
            refund,
            type: .refund,
            id: refund.id,
            before: before
        )
        countOutcome(of: refund, before: before)
    }

    /// Counts a refund that reached an outcome it did not have (`succeeded`, `failed`, `canceled`) once the write
    /// commits: every refund write comes through here, whether the request, the sweeper or start-up recovery made it.
    private func countOutcome(of refund: Refund, before: Refund?) {
        guard refund.status != .pending, refund.status != before?.status else { return }
        let status = refund.status
        base.afterCommit { PaymentMetrics.refund(status) }
    }

    func refunds(paymentIntent: String?, charge: String?, created: CreatedFilter?, page: PageRequest) throws
        -> Page<Refund>
    {
        try base.refunds(paymentIntent: paymentIntent, charge: charge, created: created, page: page)
    }

    // MARK: - Events

    func insert(_ event: Event) throws {
        if let batch { batch.events.append(event) } else { try base.insert(event) }
    }
    func insert(events: [Event]) throws {
        if let batch { batch.events += events } else { try base.insert(events: events) }
    }
    func event(_ id: String) throws -> Event? { try base.event(id) }
    func events(types: [String], created: CreatedFilter?, page: PageRequest) throws -> Page<Event> {
        try base.events(types: types, created: created, page: page)
    }
    func pruneEvents(createdBefore cutoff: Int64, limit: Int) throws -> Int {
        try base.pruneEvents(createdBefore: cutoff, limit: limit)
    }

    // MARK: - Idempotency keys

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
    ) throws -> IdempotencyBegin {
        try base.beginIdempotentRequest(
            apiKey: apiKey,
            key: key,
            method: method,
            path: path,
            fingerprint: fingerprint,
            requestID: requestID,
            token: token,
            now: now,
            lockedUntil: lockedUntil,
            expiresAt: expiresAt
        )
    }

    func markIdempotentProgress(
        apiKey: String,
        key: String,
        token: String,
        point: IdempotencyKey.RecoveryPoint,
        paymentIntent: String?,
        charge: String?,
        refund: String?
    ) throws {
        try base.markIdempotentProgress(
            apiKey: apiKey,
            key: key,
            token: token,
            point: point,
            paymentIntent: paymentIntent,
            charge: charge,
            refund: refund
        )
    }

    func finishIdempotentRequest(
        apiKey: String,
        key: String,
        token: String,
        status: Int,
        body: [UInt8],
        paymentIntent: String?
    ) throws {
        try base.finishIdempotentRequest(
            apiKey: apiKey,
            key: key,
            token: token,
            status: status,
            body: body,
            paymentIntent: paymentIntent
        )
    }

    func releaseIdempotentRequest(apiKey: String, key: String, token: String) throws {
        try base.releaseIdempotentRequest(apiKey: apiKey, key: key, token: token)
    }

    func renewIdempotencyLeases(_ held: [HeldIdempotencyKey], until: Int64) throws {
        try base.renewIdempotencyLeases(held, until: until)
    }

    func idempotencyKey(apiKey: String, key: String) throws -> IdempotencyKey? {
        try base.idempotencyKey(apiKey: apiKey, key: key)
    }

    func pruneIdempotencyKeys(expiredBefore now: Int64, unheldAt realNow: Int64, limit: Int) throws -> Int {
        try base.pruneIdempotencyKeys(expiredBefore: now, unheldAt: realNow, limit: limit)
    }

    func rescopeIdempotencyKeys(from old: String, to new: String, after key: String, limit: Int) throws
        -> (last: String?, moved: Int)
    { try base.rescopeIdempotencyKeys(from: old, to: new, after: key, limit: limit) }

    // MARK: - What the sweeper and recovery find due

    func attemptsDue(at now: Int64, limit: Int) throws -> [PaymentIntent] {
        try base.attemptsDue(at: now, limit: limit)
    }

    func intentsAwaitingSettlement(limit: Int) throws -> [PaymentIntent] {
        try base.intentsAwaitingSettlement(limit: limit)
    }

    func authorizationsDue(authorizedAtOrBefore cutoff: Int64, after position: SweepPosition, limit: Int) throws
        -> [(position: SweepPosition, intent: PaymentIntent)]
    {
        try base.authorizationsDue(authorizedAtOrBefore: cutoff, after: position, limit: limit)
    }

    func pendingChargesDue(createdAtOrBefore cutoff: Int64, after position: SweepPosition, limit: Int) throws
        -> [(position: SweepPosition, charge: String)]
    {
        try base.pendingChargesDue(createdAtOrBefore: cutoff, after: position, limit: limit)
    }

    func pendingRefunds(createdBefore cutoff: Int64, limit: Int) throws -> [String] {
        try base.pendingRefunds(createdBefore: cutoff, limit: limit)
    }

    func refundsSettling(at now: Int64, after position: SweepPosition, limit: Int) throws
        -> [(position: SweepPosition, refund: String)]
    {
        try base.refundsSettling(at: now, after: position, limit: limit)
    }

    // MARK: - Sweeper leases

    func takeSweeperLease(rule: String, holder: String, now: Int64, leasedUntil: Int64) throws -> Bool {
        try base.takeSweeperLease(rule: rule, holder: holder, now: now, leasedUntil: leasedUntil)
    }

    @discardableResult
    func releaseSweeperLease(rule: String, holder: String) throws -> Bool {
        try base.releaseSweeperLease(rule: rule, holder: holder)
    }

    func sweeperLease(rule: String) throws -> SweeperLease? { try base.sweeperLease(rule: rule) }
}
