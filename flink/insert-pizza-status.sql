-- Keeps pizza-status at one row per order: the status event furthest along the
-- order's lifecycle, from every topic that carries a status. pizza-pending is among
-- them; without it an order waiting for its customer details never shows "checking".
-- pizza-cancelled is too: a cancelled order ends there (cancelled is completed, as
-- delivered is, so neither ever replaces the other).
--
-- Forward only, by lifecycle step, never by clock: an event's `timestamp` comes from
-- whichever service wrote it, and a stage redone after a crash (at-least-once)
-- publishes a duplicate with a newer timestamp, which must not move a baked order
-- back to assembled. lifecycle_rank is generated from the [status-id] and
-- status_completed_when settings by the same function the built-in status view uses
-- (placed 1, assembled 2, baked 3, pending 4, something_wrong 5, completed 6);
-- statuses off the lifecycle (stuck, unknown, ids the settings do not know) get NULL
-- and are dropped. ROW_NUMBER() = 1 ordered by plain columns is Flink's Top-N: it
-- remembers the furthest row per order and emits an upsert only when a further step
-- arrives. Within one step the earliest event wins, so a later duplicate emits nothing.
-- The row keeps the status id and timestamp of the winning event.
--
-- Changing this statement means stopping the running one and starting the new one
-- from the earliest offsets: Flink does not carry the Top-N state over to a changed
-- query, so it must be rebuilt from the whole history of the stage topics.
--
{{raw:sourceNote}}
INSERT INTO {{ident:status}}
SELECT orderid, status, `timestamp`
FROM (
  SELECT
    orderid,
    status,
    `timestamp`,
    ROW_NUMBER() OVER (PARTITION BY orderid ORDER BY lifecycle_rank DESC, `timestamp` ASC) AS furthest_first
  FROM (
    SELECT
      orderid,
      status,
      `timestamp`,
      {{raw:lifecycleRank}} AS lifecycle_rank
    FROM (
      SELECT
        CAST(`key` AS STRING) AS orderid,
        {{raw:statusColumnAs}},
        {{raw:timestampColumnAs}}
      FROM {{ident:ordered}}
      UNION ALL
      SELECT
        CAST(`key` AS STRING),
        {{raw:statusColumn}},
        {{raw:timestampColumn}}
      FROM {{ident:pending}}
      UNION ALL
      SELECT
        CAST(`key` AS STRING),
        {{raw:statusColumn}},
        {{raw:timestampColumn}}
      FROM {{ident:assembled}}
      UNION ALL
      SELECT
        CAST(`key` AS STRING),
        {{raw:statusColumn}},
        {{raw:timestampColumn}}
      FROM {{ident:baked}}
      UNION ALL
      SELECT
        CAST(`key` AS STRING),
        {{raw:statusColumn}},
        {{raw:timestampColumn}}
      FROM {{ident:delivered}}
      UNION ALL
      -- A cancel's outcome: a cancellation is the order's last step; a refusal
      -- ({{raw:refusalExample}}) repeats a status the order already has and is left out.
      SELECT
        CAST(`key` AS STRING),
        {{raw:statusColumn}},
        {{raw:timestampColumn}}
      FROM {{ident:cancelled}}
      WHERE {{raw:refusedColumn}} IS NULL
    )
    WHERE orderid IS NOT NULL AND status IS NOT NULL AND `timestamp` IS NOT NULL
  )
  WHERE lifecycle_rank IS NOT NULL
)
WHERE furthest_first = 1
