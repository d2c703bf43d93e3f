-- Expiring old data: the tutorial's two DELETEs ("Expiring Old Data"),
--   DELETE FROM http_request WHERE ingest_time < now() - interval '1 day';
--   DELETE FROM http_request_1min WHERE ingest_time < now() - interval '1 month';
-- wrapped in a function, as the tutorial suggests for running it from cron,
-- with the retentions and the rollup table as arguments. One transaction.
CREATE OR REPLACE FUNCTION rtbench_expire(
    raw_retention interval,
    rollup_table regclass,
    rollup_retention interval,
    OUT raw_rows_removed bigint,
    OUT rollup_rows_removed bigint
) AS $$
BEGIN
    DELETE FROM http_request WHERE ingest_time < now() - raw_retention;
    GET DIAGNOSTICS raw_rows_removed = ROW_COUNT;
    EXECUTE format('DELETE FROM %s WHERE ingest_time < now() - $1', rollup_table)
        USING rollup_retention;
    GET DIAGNOSTICS rollup_rows_removed = ROW_COUNT;
END;
$$ LANGUAGE plpgsql;
