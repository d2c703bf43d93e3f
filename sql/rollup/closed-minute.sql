-- Rollup strategy "closed-minute": roll up only periods that are closed.
--
-- A period [s, s + N min) is rolled once it ended at least `grace` ago, so a
-- row whose commit lags its ingest_time by less than the grace is counted
-- exactly once. The function's window over ingest_time is
--   [rolled_until, period_start(now() - grace))
-- i.e. every period after the last one rolled, up to and including the newest
-- period that ended at least `grace` ago. Rows committed later than that are
-- lost (never double-counted); the audit shows them.
--
-- Runs are serialised by SELECT ... FOR UPDATE on the bookkeeping row, and the
-- bound never moves backwards. The tutorial's table shape is kept; country
-- counters are built by a two-level GROUP BY instead of a window function.
--
-- Placeholders (filled by src/rollup/template.ts from validated values only):
--   {{table}}, {{table_idx}}  rollup table and its (site_id, ingest_time) index
--   {{function}}              rollup_http_request_closed_<N>min
--   {{rollup_name}}           bookkeeping key (a quoted literal)
--   {{grace}}                 default grace (an interval literal, 10 seconds)
--   {{period:EXPR}}           start of EXPR's period (see tutorial.sql)
--   {{#hll}}...{{/hll}}       only when the hll extension is used
{{#hll}}
CREATE EXTENSION IF NOT EXISTS hll;
{{/hll}}

CREATE TABLE IF NOT EXISTS {{table}} (
site_id INT,
ingest_time TIMESTAMPTZ, -- which period this row represents
error_count INT,
success_count INT,
request_count INT,
average_response_time_msec INT,
CHECK (request_count = error_count + success_count),
CHECK (ingest_time = {{period:ingest_time}})
);
CREATE INDEX IF NOT EXISTS {{table_idx}} ON {{table}} (site_id, ingest_time);
{{#hll}}
ALTER TABLE {{table}} ADD COLUMN IF NOT EXISTS distinct_ip_addresses hll;
{{/hll}}
ALTER TABLE {{table}} ADD COLUMN IF NOT EXISTS country_counters JSONB;

-- Rows with ingest_time < rolled_until are rolled up. -infinity: the first
-- run rolls up all history (preloaded rows included).
CREATE TABLE IF NOT EXISTS rtbench_rollup_window (
    rollup_name text PRIMARY KEY,
    rolled_until timestamptz NOT NULL
);
INSERT INTO rtbench_rollup_window (rollup_name, rolled_until)
VALUES ({{rollup_name}}, '-infinity') ON CONFLICT (rollup_name) DO NOTHING;

-- Returns the new rolled_until (the exclusive bound of ingest_time covered).
CREATE OR REPLACE FUNCTION {{function}}(grace interval DEFAULT {{grace}})
RETURNS timestamptz AS $$
DECLARE
    window_start timestamptz;
    window_end timestamptz := {{period:now() - grace}};
BEGIN
    SELECT rolled_until INTO window_start
    FROM rtbench_rollup_window
    WHERE rollup_name = {{rollup_name}}
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'rollup % has no row in rtbench_rollup_window', {{rollup_name}};
    END IF;
    -- A run that waited on the lock above may start from a newer bound.
    IF window_end <= window_start THEN
        RETURN window_start;
    END IF;

    INSERT INTO {{table}} (
        site_id, ingest_time, request_count,
        success_count, error_count, average_response_time_msec,
{{#hll}}
        distinct_ip_addresses,
{{/hll}}
        country_counters
    ) SELECT
        site_id,
        period,
        sum(n),
        sum(ok),
        sum(n) - sum(ok),
        sum(response_time_sum)::bigint / sum(n)::bigint,
{{#hll}}
        hll_union_agg(ips),
{{/hll}}
        coalesce(jsonb_object_agg(request_country, n) FILTER (WHERE request_country IS NOT NULL), '{}')
    FROM (
        SELECT
            site_id,
            {{period:ingest_time}} AS period,
            request_country,
            count(*) AS n,
            count(*) FILTER (WHERE status_code BETWEEN 200 AND 299) AS ok,
{{#hll}}
            hll_add_agg(hll_hash_text(ip_address)) AS ips,
{{/hll}}
            sum(response_time_msec) AS response_time_sum
        FROM http_request
        WHERE ingest_time >= window_start AND ingest_time < window_end
        GROUP BY 1, 2, 3
    ) per_country
    GROUP BY 1, 2;

    UPDATE rtbench_rollup_window SET rolled_until = window_end
    WHERE rollup_name = {{rollup_name}};
    RETURN window_end;
END;
$$ LANGUAGE plpgsql;
