-- The slowest request per level across a glob of daily CSV logs.
-- Run: morsel -f queries/examples/slow_requests.sql
SELECT level, max(ms) AS slowest_ms, count(*) AS requests
FROM 'testdata/data/logs/2024-01-*/app.csv'
GROUP BY level
ORDER BY slowest_ms DESC;
