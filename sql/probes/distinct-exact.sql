-- probe: distinct-exact
-- reads: raw
-- pair: distinct-hll
-- result: scalar

-- Exact number of distinct client IP addresses over the window, from raw data:
-- what distinct-hll estimates. Same minute buckets as raw-minutes.
SELECT COUNT(DISTINCT ip_address)::bigint AS distinct_ip_address_count
FROM http_request
WHERE date_trunc('minute', ingest_time) > now() - $1::interval;
