-- probe: tenant-rollup-minutes
-- reads: rollup
-- pair: tenant-raw-minutes
-- result: rows

-- One tenant's requests per minute (site_id = $2) read from the rollup: the
-- same figures as tenant-raw-minutes. A router query on Citus (the rollup is
-- distributed by site_id, colocated with http_request).
SELECT ingest_time as minute, request_count,
    success_count, error_count, average_response_time_msec
FROM {{rollup_table}}
WHERE site_id = $2 AND ingest_time > date_trunc('minute', now()) - $1::interval
ORDER BY minute ASC;
