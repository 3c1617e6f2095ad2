import Logging

/// The logger of the API request the current task serves, which names the request (its `request_id`).
///
/// Use cases log to the logger they are handed (``PaymentsContext/logging(to:)``); a part made once for the whole
/// process cannot be handed one per request. The card network's time limit (``TimeLimitedCardNetwork``) is such a
/// part: it logged a failed call ("the card network's authorize failed", a full ledger disk, say) with the service's
/// logger, so the one line that said why a request failed was the one line without the request's id.
public enum RequestLogger {
    /// Set by the HTTP layer around each request; nil outside one (the sweeper, a recharge run, start-up recovery).
    @TaskLocal public static var current: Logger?
}
