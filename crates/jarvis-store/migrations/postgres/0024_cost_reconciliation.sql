-- Cost reconciliation (issue 14, item 8): what the provider billed per UTC day, as read from
-- its costs API by the daily `costs.reconcile` job (replaced on every read: the provider may
-- still add late usage to a recent day), and the alerts fired when our metered cost and the
-- bill differ by more than `cost_reconcile_margin_percent`, once per day.
CREATE TABLE billed_costs (
    id            uuid PRIMARY KEY,
    day           date NOT NULL CONSTRAINT billed_costs_day_key UNIQUE,
    billed_micros bigint NOT NULL CONSTRAINT billed_costs_amount_check CHECK (billed_micros >= 0),
    fetched_at    timestamptz NOT NULL
);

CREATE TABLE cost_alerts (
    id            uuid PRIMARY KEY,
    day           date NOT NULL,
    metered_pico  bigint NOT NULL,
    billed_micros bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    CONSTRAINT cost_alerts_once_key UNIQUE (day)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON billed_costs, cost_alerts TO jarvis_app;

-- Platform data only: the provider's bill is the whole organisation's.
ALTER TABLE billed_costs ENABLE ROW LEVEL SECURITY;
ALTER TABLE billed_costs FORCE ROW LEVEL SECURITY;
CREATE POLICY billed_costs_platform ON billed_costs
    USING (jarvis_scope() = 'platform') WITH CHECK (jarvis_scope() = 'platform');

ALTER TABLE cost_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE cost_alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY cost_alerts_read ON cost_alerts FOR SELECT
    USING (jarvis_scope() = 'platform');
CREATE POLICY cost_alerts_fire ON cost_alerts FOR INSERT
    WITH CHECK (jarvis_scope() = 'platform');
