-- Cost reconciliation (issue 14, item 8): what the provider billed per UTC day, as read from
-- its costs API by the daily `costs.reconcile` job (replaced on every read: the provider may
-- still add late usage to a recent day), and the alerts fired when our metered cost and the
-- bill differ by more than `cost_reconcile_margin_percent`, once per day.
CREATE TABLE billed_costs (
    id            TEXT PRIMARY KEY NOT NULL,
    day           TEXT NOT NULL CONSTRAINT billed_costs_day_key UNIQUE,
    billed_micros INTEGER NOT NULL CONSTRAINT billed_costs_amount_check CHECK (billed_micros >= 0),
    fetched_at    TEXT NOT NULL
);

CREATE TABLE cost_alerts (
    id            TEXT PRIMARY KEY NOT NULL,
    day           TEXT NOT NULL,
    metered_pico  INTEGER NOT NULL,
    billed_micros INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    CONSTRAINT cost_alerts_once_key UNIQUE (day)
);
