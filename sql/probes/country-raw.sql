-- probe: country-raw
-- reads: raw
-- pair: country-rollup
-- result: rows

-- Requests per country over the window, counted from raw data: what
-- country-rollup reads from the rollup's JSONB counters. Same minute buckets
-- as raw-minutes.
SELECT request_country AS country, COUNT(1)::bigint AS request_count
FROM http_request
WHERE date_trunc('minute', ingest_time) > now() - $1::interval
GROUP BY request_country
ORDER BY country;
