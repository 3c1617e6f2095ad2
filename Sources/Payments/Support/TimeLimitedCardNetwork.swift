import Logging
import PaymentsCore
import Synchronization

/// A card network whose every call answers within `timeout`: a late or failed call becomes
/// ``PaymentError/cardNetworkUnavailable(_:)``.
///
/// The timeout bounds how long a request waits on the network (its idempotency lease is renewed meanwhile,
/// ``LeaseRenewal``, so a second holder never takes over a key whose first holder is still waiting).
/// A call that timed out may still have happened at the network; every call is idempotent on its reference, so
/// asking again (the retry with the same key, the sweeper) finds its answer and never moves money twice.
struct TimeLimitedCardNetwork: CardNetwork {
    let base: any CardNetwork
    let timeout: Duration
    /// The calls in flight, and the task that answers the late ones.
    let calls: DeadlineWatch
    /// Where a failed call's own error goes outside a request: the operator's to read, not the API client's (it may
    /// name SQL). Inside a request it goes to the request's logger (``RequestLogger``), so the line names the request.
    let logger: Logger
    /// Run before every call that may move money: commits the running request's new idempotency key if it is still
    /// pending (``PaymentStore/claimPendingKey()``), so that no request asks the network anything before its key is
    /// taken. Otherwise a retry with the same key, sent while the network answers, found no key, ran beside the first
    /// request, and could answer a final error that was never saved (a capture's or a cancel's "status of
    /// succeeded"), where the contract asks for a 409 while the key is in flight.
    let claimKey: @Sendable () async throws -> Void

    init(
        base: any CardNetwork,
        timeout: Duration,
        logger: Logger = Logger(label: "payments"),
        claimKey: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.base = base
        self.timeout = timeout
        self.calls = DeadlineWatch(timeout: timeout)
        self.logger = logger
        self.claimKey = claimKey
    }

    // The card questions are answered locally and at once: nothing to time.
    func lookUp(_ card: CardNumber) -> CardLookup { base.lookUp(card) }

    func attachDecline(_ card: CardNumber, cvcProvided: Bool) -> CardDecline? {
        base.attachDecline(card, cvcProvided: cvcProvided)
    }

    func testCardNumber(forPaymentMethodID id: String) -> String? { base.testCardNumber(forPaymentMethodID: id) }

    func authorize(_ request: AuthorizationRequest) async throws -> AuthorizationResult {
        try await limited("authorize") { try await base.authorize(request) }
    }

    func capture(attemptID: String, amount: Int64, reference: String) async throws -> NetworkCapture? {
        try await limited("capture") {
            try await base.capture(attemptID: attemptID, amount: amount, reference: reference)
        }
    }

    func void(attemptID: String) async throws -> Bool {
        try await limited("void") { try await base.void(attemptID: attemptID) }
    }

    func void(attemptID: String, reference: String) async throws -> NetworkRelease {
        try await limited("void") { try await base.void(attemptID: attemptID, reference: reference) }
    }

    func void(attemptIDs: [String]) async throws -> [String: Bool] {
        try await limited("void") { try await base.void(attemptIDs: attemptIDs) }
    }

    func refund(attemptID: String, refundID: String, amount: Int64, now: Int64) async throws -> RefundResult {
        try await limited("refund") {
            try await base.refund(attemptID: attemptID, refundID: refundID, amount: amount, now: now)
        }
    }

    /// Runs `call`, answering with its result or, after `timeout`, with a timeout error, whichever comes first. A
    /// call still running at the timeout is cancelled and left to end on its own: the caller is not held by it.
    private func limited<T: Sendable>(_ name: String, _ call: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        try await claimKey()
        let (timeout, calls) = (self.timeout, self.calls)
        let outcome: Result<T, any Error> = await withCheckedContinuation { continuation in
            let race = Race(continuation)
            let failure = PaymentError.cardNetworkUnavailable("no answer to \(name) within \(timeout)")
            let watched = calls.watch { race.answer(.failure(failure)) }
            race.work = Task {
                let result: Result<T, any Error>
                do { result = .success(try await call()) } catch { result = .failure(error) }
                calls.forget(watched)
                race.answer(result)
            }
        }
        switch outcome {
        case .success(let value):
            return value
        case .failure(let error as PaymentError):
            throw error
        case .failure(let error):
            // The error is the network's own (the test-mode acquirer's SQLite error, with its statement): logged,
            // and the client told only which call failed
            (RequestLogger.current ?? logger).error(
                "the card network's \(name) failed",
                metadata: ["error": "\(error)"]
            )
            throw PaymentError.cardNetworkUnavailable("\(name) failed")
        }
    }
}

/// The first of a call's answer and its timeout: resumes the waiting caller once, and cancels the call when the
/// timeout came first.
private final class Race<T: Sendable>: Sendable {
    private let state:
        Mutex<(continuation: CheckedContinuation<Result<T, any Error>, Never>?, work: Task<Void, Never>?)>

    init(_ continuation: CheckedContinuation<Result<T, any Error>, Never>) {
        state = Mutex((continuation, nil))
    }

    /// The task running the call, cancelled if the timeout answers first.
    var work: Task<Void, Never>? {
        get { state.withLock { $0.work } }
        set { state.withLock { $0.work = newValue } }
    }

    /// Resumes the caller with `result` if nobody has yet; a timeout that wins cancels the call.
    func answer(_ result: Result<T, any Error>) {
        let (continuation, work) = state.withLock { state in
            defer { state.continuation = nil }
            return (state.continuation, state.work)
        }
        guard let continuation else { return }
        continuation.resume(returning: result)
        if case .failure(let error as PaymentError) = result, error.isTransient { work?.cancel() }
    }
}
