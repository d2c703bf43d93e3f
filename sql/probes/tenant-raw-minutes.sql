-- probe: tenant-raw-minutes
-- reads: raw
-- pair: tenant-rollup-minutes
-- result: rows

-- One tenant's dashboard: requests per minute for one site (site_id = $2, the
-- site drawn for each refresh), with success/error counts and mean response
-- time, counted from raw data. The tutorial's clients each see their own
-- site; on Citus, where http_request is distributed by site_id, this is a
-- router query (one shard). Same minute buckets as raw-minutes.
SELECT
date_trunc('minute', ingest_time) as minute,
COUNT(1) AS request_count,
SUM(CASE WHEN (status_code between 200 and 299) THEN 1 ELSE 0 END) as success_count,
SUM(CASE WHEN (status_code between 200 and 299) THEN 0 ELSE 1 END) as error_count,
SUM(response_time_msec) / COUNT(1) AS average_response_time_msec
FROM http_request
WHERE site_id = $2 AND date_trunc('minute', ingest_time) > now() - $1::interval
GROUP BY minute
ORDER BY minute ASC;
