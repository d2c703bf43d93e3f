-- probe: tenant-country-rollup
-- reads: rollup
-- pair: tenant-country-raw
-- result: rows

-- One site's (site_id = $2) requests per country, summed from the rollup's
-- JSONB country counters.
SELECT c.key AS country, SUM(c.value::bigint)::bigint AS request_count
FROM {{rollup_table}} AS r, jsonb_each_text(r.country_counters) AS c
WHERE r.site_id = $2 AND r.ingest_time > date_trunc('minute', now()) - $1::interval
GROUP BY c.key
ORDER BY country;
