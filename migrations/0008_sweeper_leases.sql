-- Sweeper leases: one sweeper pass at a time runs each rule.
--
-- Every `payments serve` runs its own sweeper, and `payments sweep` may run beside them. Each pass takes a rule's
-- lease before working on that rule, renews it between batches and releases it when the rule is done; a pass that
-- finds another holder's lease still running skips the rule (the other is doing it). `holder` is a random id per
-- process; `leased_until` (unix seconds) is when anyone else may take the lease over: a holder that died (SIGKILL)
-- blocks the rule only until then. Taking, taking over and renewing are one compare-and-set statement (INSERT ... ON
-- CONFLICT DO UPDATE ... WHERE the lease ran out or is ours). A released lease is deleted, so the table holds only
-- the leases of passes running now (or of holders that died).
CREATE TABLE sweeper_leases (
    rule TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    leased_until INTEGER NOT NULL
) STRICT;
