-- Time partitions of a range-partitioned http_request (rtbench --partition).
--
-- rtbench_create_time_partitions(parent, step, from_at, to_at): one partition
-- per hour or day (step '1 hour' or '1 day'), boundaries aligned in UTC,
-- covering [from_at, to_at); partitions that already exist are kept. Returns
-- the number created. Names: <parent>_pYYYYMMDD (day) or _pYYYYMMDD_HH (hour).
-- Citus targets use create_time_partitions instead (the same idea).
--
-- rtbench_expired_partitions(parent, older_than): the partitions whose upper
-- bound is at or before older_than, i.e. every row in them is older: the ones
-- drop-partitions expiry drops (DROP TABLE, timed by the harness).
CREATE OR REPLACE FUNCTION rtbench_create_time_partitions(
    parent regclass, step interval, from_at timestamptz, to_at timestamptz
) RETURNS int AS $$
DECLARE
    unit text := CASE WHEN step = interval '1 day' THEN 'day' WHEN step = interval '1 hour' THEN 'hour' END;
    lo timestamptz;
    part text;
    made int := 0;
    parent_name text;
    parent_schema text;
BEGIN
    IF unit IS NULL THEN
        RAISE EXCEPTION 'partition step must be 1 hour or 1 day, got %', step;
    END IF;
    SELECT c.relname, n.nspname INTO parent_name, parent_schema
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
    lo := date_trunc(unit, from_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    WHILE lo < to_at LOOP
        part := parent_name || '_p' || to_char(lo AT TIME ZONE 'UTC', CASE unit WHEN 'day' THEN 'YYYYMMDD' ELSE 'YYYYMMDD"_"HH24' END);
        IF to_regclass(format('%I.%I', parent_schema, part)) IS NULL THEN
            EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                           parent_schema, part, parent, lo, lo + step);
            made := made + 1;
        END IF;
        lo := lo + step;
    END LOOP;
    RETURN made;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION rtbench_time_partitions(parent regclass)
RETURNS TABLE (partition regclass, from_value timestamptz, to_value timestamptz) AS $$
    SELECT c.oid::regclass,
           substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \(''([^'']+)''\)')::timestamptz,
           substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::timestamptz
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = parent AND c.relispartition
     ORDER BY 2;
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION rtbench_expired_partitions(parent regclass, older_than timestamptz)
RETURNS TABLE (partition regclass, from_value timestamptz, to_value timestamptz) AS $$
    SELECT * FROM rtbench_time_partitions(parent) WHERE to_value <= older_than ORDER BY from_value;
$$ LANGUAGE sql STABLE;
