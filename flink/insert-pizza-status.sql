-- Keeps pizza-status at one row per order: the status event with the newest
-- event time, from every topic that carries a status. pizza-pending is among them;
-- without it an order waiting for its customer details never shows "checking".
--
-- "Newest" means the events' own `timestamp`, not the order Flink reads them in:
-- the stage topics are separate logs, so an older event can arrive after a newer
-- one (a consumer lagging on one topic, a replay). ROW_NUMBER() = 1 ordered by a
-- plain column is Flink's Top-N: it remembers the newest row per order, emits an
-- upsert only when a newer event arrives, and ignores a late, older one. Equal
-- timestamps fall back to the higher status id, so the result never depends on
-- arrival order.
--
-- The source columns are those Confluent Cloud infers for a topic without a schema
-- (`key` and `val` as bytes); the Apache Flink tables declare the same, so this
-- statement is the same text in both dialects. JSON_VALUE and TRY_CAST yield NULL
-- for a value they cannot read, and such rows are dropped instead of failing the job.
INSERT INTO {{ident:status}}
SELECT orderid, status, `timestamp`
FROM (
  SELECT
    orderid,
    status,
    `timestamp`,
    ROW_NUMBER() OVER (PARTITION BY orderid ORDER BY `timestamp` DESC, status DESC) AS newest_first
  FROM (
    SELECT
      CAST(`key` AS STRING) AS orderid,
      TRY_CAST(JSON_VALUE(CAST(`val` AS STRING), '$.status') AS INT) AS status,
      TRY_CAST(JSON_VALUE(CAST(`val` AS STRING), '$.timestamp') AS BIGINT) AS `timestamp`
    FROM {{ident:ordered}}
    UNION ALL
    SELECT
      CAST(`key` AS STRING),
      TRY_CAST(JSON_VALUE(CAST(`val` AS STRING), '$.status') AS INT),
      TRY_CAST(JSON_VALUE(CAST(`val` AS STRING), '$.timestamp') AS BIGINT)
    FROM {{ident:pending}}
    UNION ALL
    SELECT
      CAST(`key` AS STRING),
      TRY_CAST(JSON_VALUE(CAST(`val` AS STRING), '$.status') AS INT),
      TRY_CAST(JSON_VALUE(CAST(`val` AS STRING), '$.timestamp') AS BIGINT)
    FROM {{ident:assembled}}
    UNION ALL
    SELECT
      CAST(`key` AS STRING),
      TRY_CAST(JSON_VALUE(CAST(`val` AS STRING), '$.status') AS INT),
      TRY_CAST(JSON_VALUE(CAST(`val` AS STRING), '$.timestamp') AS BIGINT)
    FROM {{ident:baked}}
    UNION ALL
    SELECT
      CAST(`key` AS STRING),
      TRY_CAST(JSON_VALUE(CAST(`val` AS STRING), '$.status') AS INT),
      TRY_CAST(JSON_VALUE(CAST(`val` AS STRING), '$.timestamp') AS BIGINT)
    FROM {{ident:delivered}}
  )
  WHERE orderid IS NOT NULL AND status IS NOT NULL AND `timestamp` IS NOT NULL
)
WHERE newest_first = 1
