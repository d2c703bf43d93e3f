/** SQL that fills the tutorial tables for the probe tests, built server-side. */

/** Tutorial rows spread uniformly over the last day (the tutorial's distributions; IPs nearly all distinct). */
export function insertRawSql(rows: number): string {
  return `INSERT INTO http_request (site_id, ingest_time, url, request_country, ip_address, status_code, response_time_msec)
    SELECT trunc(random() * 32), now() - random() * interval '1 day',
           concat('http://example.com/', md5(random()::text)),
           ('{China,India,USA,Indonesia}'::text[])[ceil(random() * 4)],
           concat(trunc(random() * 250 + 2), '.', trunc(random() * 250 + 2), '.', trunc(random() * 250 + 2), '.', trunc(random() * 250 + 2)),
           ('{200,404}'::int[])[ceil(random() * 2)],
           5 + trunc(random() * 150)
      FROM generate_series(1, ${rows})`;
}

/** Roll up every closed minute into http_request_1min (with or without the HLL column). */
export function fillRollupSql(withHll: boolean): string {
  return `INSERT INTO http_request_1min (site_id, ingest_time, request_count, success_count, error_count,
                                  average_response_time_msec, country_counters${withHll ? ', distinct_ip_addresses' : ''})
    SELECT site_id, minute, sum(n), sum(ok), sum(n) - sum(ok), sum(response_sum) / sum(n),
           jsonb_object_agg(request_country, n)${withHll ? ', hll_union_agg(ips)' : ''}
      FROM (SELECT site_id, date_trunc('minute', ingest_time) AS minute, request_country,
                   count(*) AS n, count(*) FILTER (WHERE status_code BETWEEN 200 AND 299) AS ok,
                   sum(response_time_msec) AS response_sum
                   ${withHll ? ', hll_add_agg(hll_hash_text(ip_address)) AS ips' : ''}
              FROM http_request
             WHERE ingest_time < date_trunc('minute', now())
             GROUP BY 1, 2, 3) per_country
     GROUP BY site_id, minute`;
}
