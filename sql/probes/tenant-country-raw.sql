-- probe: tenant-country-raw
-- reads: raw
-- pair: tenant-country-rollup
-- result: rows

-- One site's (site_id = $2) requests per country over the window, counted
-- from raw data: what tenant-country-rollup reads from the JSONB counters.
SELECT request_country AS country, COUNT(1)::bigint AS request_count
FROM http_request
WHERE site_id = $2 AND date_trunc('minute', ingest_time) > now() - $1::interval
GROUP BY request_country
ORDER BY country;
