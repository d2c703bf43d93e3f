-- probe: country-rollup
-- reads: rollup
-- pair: country-raw
-- result: rows

-- Requests per country over the window, summed from the rollup's JSONB
-- counters (country -> count, the tutorial's country_counters column), one
-- jsonb_each_text expansion per rollup row.
SELECT c.key AS country, SUM(c.value::bigint)::bigint AS request_count
FROM {{rollup_table}} AS r, jsonb_each_text(r.country_counters) AS c
WHERE r.ingest_time > date_trunc('minute', now()) - $1::interval
GROUP BY c.key
ORDER BY country;
