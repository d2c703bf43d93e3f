-- probe: tenant-distinct-exact
-- reads: raw
-- pair: tenant-distinct-hll
-- result: scalar

-- The tutorial's "how many unique visitors visited your site over the last
-- month?" for one site (site_id = $2), answered exactly from raw data: what
-- tenant-distinct-hll estimates. Same minute buckets as raw-minutes.
SELECT COUNT(DISTINCT ip_address)::bigint AS distinct_ip_address_count
FROM http_request
WHERE site_id = $2 AND date_trunc('minute', ingest_time) > now() - $1::interval;
