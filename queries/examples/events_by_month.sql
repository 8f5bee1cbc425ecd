-- Events and revenue per month, over the hive-partitioned Parquet in testdata/data/events.
-- Run: morsel testdata/data -f queries/examples/events_by_month.sql
SELECT year, month, count(*) AS events, round(sum(amount), 2) AS revenue
FROM events
GROUP BY year, month
ORDER BY year, month;
