-- probe: raw-minutes
-- reads: raw
-- pair: rollup-minutes
-- result: rows

-- The tutorial's dashboard query on raw data ("Dashboard query"): requests per
-- site per minute with success/error counts and mean response time.
-- Changed from the tutorial:
--   * the window is $1::interval (5 minutes, 1 hour, 1 day) instead of a fixed
--     '5 minutes';
--   * no LIMIT 15. A dashboard draws the whole window. With LIMIT the pair
--     would time different work: this query must aggregate every row of the
--     window before it can sort and keep 15, while the tutorial's rollup query
--     (no ORDER BY) stops after reading any 15 rows, so the "speedup" would
--     measure LIMIT, not the rollup.
-- Its twin rollup-minutes selects the same minute buckets: for a whole-minute
-- window w, date_trunc('minute', t) > now() - w  <=>
-- date_trunc('minute', t) > date_trunc('minute', now()) - w.
-- The WHERE clause is the tutorial's (not index-friendly; the tutorial's raw
-- table has no index anyway): this is the query the tutorial tells users to run.
SELECT
site_id,
date_trunc('minute', ingest_time) as minute,
COUNT(1) AS request_count,
SUM(CASE WHEN (status_code between 200 and 299) THEN 1 ELSE 0 END) as success_count,
SUM(CASE WHEN (status_code between 200 and 299) THEN 0 ELSE 1 END) as error_count,
SUM(response_time_msec) / COUNT(1) AS average_response_time_msec
FROM http_request
WHERE date_trunc('minute', ingest_time) > now() - $1::interval
GROUP BY site_id, minute
ORDER BY minute ASC;
