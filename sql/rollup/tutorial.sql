-- Rollup strategy "tutorial": the seed's final rollup_http_request() (the
-- HLL + JSONB version), verbatim. Rendered for 1-minute granularity with hll
-- on, the function below is character for character the tutorial's.
--
-- Known defect, kept on purpose (the audit measures it): the window
-- (last, date_trunc('minute', now())] rolls up the still-open minute and then
-- moves latest_rollup to it, so rows of that minute committed after the run
-- are never aggregated.
--
-- Placeholders (filled by src/rollup/template.ts from validated values only):
--   {{table}}           rollup table: http_request_1min, _5min, _15min, _60min
--   {{table_idx}}       its (site_id, ingest_time) index
--   {{latest_table}}    bookkeeping: latest_rollup (1 min) or latest_rollup_<N>min
--   {{function}}        rollup_http_request (1 min) or rollup_http_request_<N>min
--   {{period:EXPR}}     start of EXPR's period: date_trunc('minute', EXPR) for
--                       1 minute, else date_bin('<N> minutes', EXPR, 'epoch')
--   {{#hll}}...{{/hll}} only when the hll extension is used
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

CREATE TABLE IF NOT EXISTS {{latest_table}} (
minute timestamptz PRIMARY KEY,
CHECK (minute = {{period:minute}})
);
-- initialize to a time long ago (once: installing again keeps the position)
INSERT INTO {{latest_table}}
SELECT {{period:timestamptz '10-10-1901'}}
WHERE NOT EXISTS (SELECT 1 FROM {{latest_table}});

-- function to do the rollup
CREATE OR REPLACE FUNCTION {{function}}() RETURNS void AS $$
DECLARE
curr_rollup_time timestamptz := {{period:now()}};
last_rollup_time timestamptz := minute from {{latest_table}};
BEGIN
INSERT INTO {{table}} (
    site_id, ingest_time, request_count,
    success_count, error_count, average_response_time_msec,
{{#hll}}
    distinct_ip_addresses,
{{/hll}}
    country_counters
) SELECT
    site_id,
    {{period:ingest_time}},
    COUNT(1) as request_count,
    SUM(CASE WHEN (status_code between 200 and 299) THEN 1 ELSE 0 END) as success_count,
    SUM(CASE WHEN (status_code between 200 and 299) THEN 0 ELSE 1 END) as error_count,
    SUM(response_time_msec) / COUNT(1) AS average_response_time_msec,
{{#hll}}
    hll_add_agg(hll_hash_text(ip_address)) AS distinct_ip_addresses,
{{/hll}}
    jsonb_object_agg(request_country, country_count) AS country_counters
FROM (
    SELECT *,
        count(1) OVER (
        PARTITION BY site_id, {{period:ingest_time}}, request_country
        ) AS country_count
    FROM http_request
    ) h
-- roll up only data new since last_rollup_time
WHERE {{period:ingest_time}} <@
        tstzrange(last_rollup_time, curr_rollup_time, '(]')
GROUP BY 1, 2;

-- update the value in latest_rollup so that next time we run the
-- rollup it will operate on data newer than curr_rollup_time
UPDATE {{latest_table}} SET minute = curr_rollup_time;
END;
$$ LANGUAGE plpgsql;
