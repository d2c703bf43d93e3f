-- probe: tenant-distinct-hll
-- reads: rollup
-- requires: hll
-- pair: tenant-distinct-exact
-- result: scalar

-- Unique visitors of one site (site_id = $2) over the window: the union of
-- that site's per-period HLL sketches, then its cardinality.
SELECT hll_cardinality(hll_union_agg(distinct_ip_addresses))::bigint AS distinct_ip_address_count
FROM {{rollup_table}}
WHERE site_id = $2 AND ingest_time > date_trunc('minute', now()) - $1::interval;
