-- The figures say which assessment versions the respondents' latest results were scored on
-- (bot/store/reports.py latest_versions): with the version in the index of latest results,
-- that is read from the index alone (a million results: ~2 s from the table, bench_scale).
DROP INDEX runs_latest;
CREATE INDEX runs_latest ON assessment_runs (definition_id, version, passed, area_code)
    WHERE latest = 1;
