-- probe: rollup-minutes
-- reads: rollup
-- pair: raw-minutes
-- result: rows

-- The tutorial's dashboard query on the rollup table: the same figures as
-- raw-minutes, read instead of computed. {{rollup_table}} is the rollup of the
-- granularity in use (http_request_1min, _5min, _15min, _60min); with a
-- coarser granularity each row covers one period rather than one minute.
-- Changed from the tutorial:
--   * the window is $1::interval instead of '5 minutes';
--   * no LIMIT 15 (see raw-minutes.sql: with it, the pair compares LIMIT, not
--     the rollup);
--   * ORDER BY minute, as raw-minutes has, so both return the same rows in the
--     same order and pay for the same sort.
SELECT site_id, ingest_time as minute, request_count,
    success_count, error_count, average_response_time_msec
FROM {{rollup_table}}
WHERE ingest_time > date_trunc('minute', now()) - $1::interval
ORDER BY minute ASC;
