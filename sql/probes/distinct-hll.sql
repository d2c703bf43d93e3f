-- probe: distinct-hll
-- reads: rollup
-- requires: hll
-- pair: distinct-exact
-- result: scalar

-- The tutorial's "distinct IP counts over a time period": the union of the
-- per-period HLL sketches of the window, then its cardinality. The tutorial's
-- LIMIT 15 is dropped: the query returns one row, so it limits nothing.
SELECT hll_cardinality(hll_union_agg(distinct_ip_addresses))::bigint AS distinct_ip_address_count
FROM {{rollup_table}}
WHERE ingest_time > date_trunc('minute', now()) - $1::interval;
