-- Rollup strategy "incremental": exactly-once, sequence based (the pattern of
-- the Citus blog post "scalable incremental data aggregation", 2018).
--
-- http_request gets an event_id bigserial column (this changes the raw
-- table's shape; existing rows get ids). A bookkeeping row per rollup holds
-- last_aggregated_id. Under SELECT ... FOR UPDATE on that row, the window is
-- (last_aggregated_id, pg_sequence_last_value(seq)]. Before aggregating, the
-- function takes LOCK http_request IN EXCLUSIVE MODE inside a sub-block that
-- raises at once, which releases it: the lock is granted only after every
-- writer that may hold an id in the window has committed or aborted, so the
-- INSERT ... SELECT (a new snapshot under READ COMMITTED) sees all of them.
-- Results are merged with ON CONFLICT (site_id, ingest_time) DO UPDATE:
-- counts added, HLLs unioned, country counters summed per key, and the
-- average recomputed from response_time_msec_sum so it stays exact.
--
-- Placeholders (filled by src/rollup/template.ts from validated values only):
--   {{table}}                 rollup table
--   {{table_key}}             its unique index on (site_id, ingest_time)
--   {{function}}              rollup_http_request_incremental_<N>min
--   {{rollup_name}}           bookkeeping key (a quoted literal)
--   {{period:EXPR}}           start of EXPR's period (see tutorial.sql)
--   {{#hll}}...{{/hll}}       only when the hll extension is used
{{#hll}}
CREATE EXTENSION IF NOT EXISTS hll;
{{/hll}}

-- Guarded rather than ADD COLUMN IF NOT EXISTS: on Citus the latter fails for
-- serial types even when the column exists (0A000), once the table is distributed.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'http_request'::regclass AND attname = 'event_id' AND NOT attisdropped) THEN
    ALTER TABLE http_request ADD COLUMN event_id bigserial;
  END IF;
END $$;
-- The window is a range of ids; a BRIN index finds it without scanning
-- history and costs the writers almost nothing (ids grow with time).
CREATE INDEX IF NOT EXISTS http_request_event_id_brin ON http_request USING brin (event_id);

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
{{#hll}}
ALTER TABLE {{table}} ADD COLUMN IF NOT EXISTS distinct_ip_addresses hll;
{{/hll}}
ALTER TABLE {{table}} ADD COLUMN IF NOT EXISTS country_counters JSONB;
ALTER TABLE {{table}} ADD COLUMN IF NOT EXISTS response_time_msec_sum bigint;
-- ON CONFLICT needs a unique index; it also serves the dashboard's lookups,
-- so no plain (site_id, ingest_time) index is added (sql/schema.sql has one
-- on http_request_1min already).
CREATE UNIQUE INDEX IF NOT EXISTS {{table_key}} ON {{table}} (site_id, ingest_time);

-- id 0: the first run rolls up every row already present (preloaded history).
CREATE TABLE IF NOT EXISTS rtbench_rollup_state (
    rollup_name text PRIMARY KEY,
    last_aggregated_id bigint NOT NULL DEFAULT 0
);
INSERT INTO rtbench_rollup_state (rollup_name, last_aggregated_id)
VALUES ({{rollup_name}}, 0) ON CONFLICT (rollup_name) DO NOTHING;

-- Sum two {"key": number} objects key by key (country counters).
CREATE OR REPLACE FUNCTION rtbench_jsonb_sum(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_object_agg(key, total), '{}')
    FROM (
        SELECT key, sum(value::numeric) AS total
        FROM (
            SELECT key, value FROM jsonb_each_text(coalesce(a, '{}'))
            UNION ALL
            SELECT key, value FROM jsonb_each_text(coalesce(b, '{}'))
        ) kv
        GROUP BY key
    ) s
$$;

-- Returns how many ids the window held (0 when nothing was new).
CREATE OR REPLACE FUNCTION {{function}}() RETURNS bigint AS $$
DECLARE
    window_start bigint;
    window_end bigint;
BEGIN
    -- The wait below only helps if the aggregation takes a new snapshot.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION '% must run under READ COMMITTED', {{rollup_name}};
    END IF;

    SELECT last_aggregated_id + 1,
           pg_sequence_last_value(pg_get_serial_sequence('http_request', 'event_id')::regclass)
    INTO window_start, window_end
    FROM rtbench_rollup_state
    WHERE rollup_name = {{rollup_name}}
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'rollup % has no row in rtbench_rollup_state', {{rollup_name}};
    END IF;
    IF window_end IS NULL OR window_end < window_start THEN
        RETURN 0; -- sequence never used, or nothing new
    END IF;

    -- Wait for in-flight writers: granted once they finish; the raise
    -- rolls back the sub-block, which releases the lock at once. Only our
    -- own SQLSTATE is caught, so a lock timeout or cancel is not swallowed.
    BEGIN
        LOCK TABLE http_request IN EXCLUSIVE MODE;
        RAISE EXCEPTION 'release table lock' USING ERRCODE = 'RB001';
    EXCEPTION WHEN SQLSTATE 'RB001' THEN
        NULL;
    END;

    INSERT INTO {{table}} AS r (
        site_id, ingest_time, request_count,
        success_count, error_count, average_response_time_msec,
        response_time_msec_sum,
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
        sum(response_time_sum),
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
        WHERE event_id BETWEEN window_start AND window_end
        GROUP BY 1, 2, 3
    ) per_country
    GROUP BY 1, 2
    ON CONFLICT (site_id, ingest_time) DO UPDATE SET
        request_count = r.request_count + EXCLUDED.request_count,
        success_count = r.success_count + EXCLUDED.success_count,
        error_count = r.error_count + EXCLUDED.error_count,
        response_time_msec_sum = r.response_time_msec_sum + EXCLUDED.response_time_msec_sum,
        average_response_time_msec = (r.response_time_msec_sum + EXCLUDED.response_time_msec_sum)
                                     / (r.request_count + EXCLUDED.request_count),
{{#hll}}
        distinct_ip_addresses = hll_union(r.distinct_ip_addresses, EXCLUDED.distinct_ip_addresses),
{{/hll}}
        country_counters = rtbench_jsonb_sum(r.country_counters, EXCLUDED.country_counters);

    UPDATE rtbench_rollup_state SET last_aggregated_id = window_end
    WHERE rollup_name = {{rollup_name}};
    RETURN window_end - window_start + 1;
END;
$$ LANGUAGE plpgsql;
