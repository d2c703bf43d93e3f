-- The tutorial's load-generator INSERT (seed, "Generate data"), verbatim but
-- for the workload shape: {{sites}} = 32, {{countries}} = '{China,India,USA,Indonesia}',
-- {{countryCount}} = 4, {{statusCodes}} = '{200,404}', {{statusCount}} = 2 by default.
-- The randomness is computed by the server. rtbench sends it as a prepared
-- statement; with --mode multi the tuple below is repeated --batch times.
INSERT INTO http_request (
    site_id, ingest_time, url, request_country,
    ip_address, status_code, response_time_msec
) VALUES
-- values-begin
    (
    trunc(random()*{{sites}}), clock_timestamp(),
    concat('http://example.com/', md5(random()::text)),
    ({{countries}}::text[])[ceil(random()*{{countryCount}})],
    concat(
        trunc(random()*250 + 2), '.',
        trunc(random()*250 + 2), '.',
        trunc(random()*250 + 2), '.',
        trunc(random()*250 + 2)
    )::inet,
    ({{statusCodes}}::int[])[ceil(random()*{{statusCount}})],
    5+trunc(random()*150)
    )
-- values-end
;
