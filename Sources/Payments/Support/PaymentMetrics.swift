import Metrics
import PaymentsCore

/// The payment counters `/metrics` shows (through swift-metrics: whatever backend the process bootstraps, none in
/// tests). Each is counted once the transaction that decided it has committed, so a rolled-back attempt counts
/// nothing.
public enum PaymentMetrics {
    /// The series whose labels are known in advance, at 0, so `/metrics` shows them from the start: an alert on
    /// `rate(payments_refunds_total{status="failed"}[5m]) > 0` had no data, not 0, until the first failed refund (a
    /// probe). A decline's code is the issuer's, so only the approved attempts' series starts at 0.
    public static func startAtZero() {
        Counter(label: "payments_attempts_total", dimensions: [("outcome", "approved"), ("decline_code", "")])
            .increment(by: 0)
        for status in [Refund.Status.succeeded, .failed, .canceled] {
            Counter(label: "payments_refunds_total", dimensions: [("status", status.rawValue)]).increment(by: 0)
        }
        for step in [ChallengeStep.requested, .completed, .failed] {
            Counter(label: "payments_three_d_secure_challenges_total", dimensions: [("step", step.rawValue)])
                .increment(by: 0)
        }
        for (rule, _) in sweeperRows(SweepReport()) {
            Counter(label: "payments_sweeper_rows_total", dimensions: [("rule", rule)]).increment(by: 0)
        }
    }

    /// A pass's rows, rule by rule, as `payments_sweeper_rows_total` names the rules.
    static func sweeperRows(_ report: SweepReport) -> [(rule: String, rows: Int)] {
        [
            ("attempts_expired", report.attemptsExpired), ("setup_attempts_expired", report.setupAttemptsExpired),
            ("authorizations_canceled", report.authorizationsCanceled), ("captures_recorded", report.capturesRecorded),
            ("idempotency_keys_pruned", report.idempotencyKeysPruned),
            ("pending_charges_recovered", report.pendingChargesRecovered),
            ("settlements_recorded", report.settlementsRecorded),
            ("pending_refunds_settled", report.pendingRefundsSettled), ("refunds_updated", report.refundsUpdated),
            ("events_pruned", report.eventsPruned), ("skipped", report.skipped),
        ]
    }

    /// An authorization the card network answered, or an attempt that failed before reaching it (`count` of them).
    static func attempt(_ outcome: AttemptOutcome, declineCode: String? = nil, count: Int = 1) {
        guard count > 0 else { return }
        Counter(
            label: "payments_attempts_total",
            dimensions: [("outcome", outcome.rawValue), ("decline_code", declineCode ?? "")]
        ).increment(by: Int64(count))
    }

    /// How an attempt ended: approved; declined (by the issuer, or by the network's risk checks before it); or
    /// failed without a decline, under its error code as `decline_code`, as `report_declines` counts it: a 3-D Secure
    /// challenge failed (`payment_intent_authentication_failure`), one refused by `error_on_requires_action`
    /// (`payment_intent_action_required`), or an attempt whose window closed (`payment_intent_payment_attempt_expired`).
    enum AttemptOutcome: String {
        case approved, declined, failed
    }

    /// A refund that reached `status` (`succeeded`, `failed` or `canceled`): one that succeeds and later fails, as a
    /// card closed meanwhile makes it, counts under both.
    static func refund(_ status: Refund.Status) {
        Counter(label: "payments_refunds_total", dimensions: [("status", status.rawValue)]).increment()
    }

    /// A step of a 3-D Secure challenge.
    static func challenge(_ step: ChallengeStep) {
        Counter(label: "payments_three_d_secure_challenges_total", dimensions: [("step", step.rawValue)]).increment()
    }

    /// The steps of a challenge: asked of the customer, then completed or failed.
    enum ChallengeStep: String {
        case requested, completed, failed
    }

    /// What one sweeper pass did, rule by rule, and the rules it skipped because another sweeper held their lease.
    static func sweep(_ report: SweepReport) {
        for (rule, rows) in sweeperRows(report) where rows > 0 {
            Counter(label: "payments_sweeper_rows_total", dimensions: [("rule", rule)]).increment(by: Int64(rows))
        }
        for rule in report.rulesSkipped {
            Counter(label: "payments_sweeper_rules_skipped_total", dimensions: [("rule", rule.rawValue)]).increment()
        }
    }
}
