-- Rollup audit: per closed period, raw count(*) vs the rollup's
-- sum(request_count). $1 = from, $2 = to (timestamptz). Periods checked:
-- those starting at or after the start of from's period and ending at or
-- before min(to, now()). Placeholders: {{table}}, {{period:EXPR}}.
WITH bounds AS (
    SELECT {{period:$1::timestamptz}} AS lo,
           {{period:least($2::timestamptz, now())}} AS hi
)
SELECT 'raw' AS side, {{period:ingest_time}} AS period_start, count(*)::bigint::text AS n
FROM http_request, bounds
WHERE ingest_time >= bounds.lo AND ingest_time < bounds.hi
GROUP BY 2
UNION ALL
SELECT 'rollup', ingest_time, coalesce(sum(request_count), 0)::bigint::text
FROM {{table}}, bounds
WHERE ingest_time >= bounds.lo AND ingest_time < bounds.hi
GROUP BY 2
ORDER BY 2, 1;
