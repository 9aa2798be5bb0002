-- The table (and topic) the status service reads: one record per status change,
-- keyed by order id. upsert-kafka writes the newest row per primary key and turns
-- deletes into tombstones. Key 'raw' is the order id as plain UTF-8, like every
-- other pizza topic; the value is plain JSON and also carries the order id.
CREATE TABLE {{ident:status}} (
  orderid STRING,
  status INT,
  `timestamp` BIGINT,
  PRIMARY KEY (orderid) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka',
  'topic' = {{string:topic}},
  {{raw:connection}}
  'key.format' = 'raw',
  'value.format' = 'json',
  'value.fields-include' = 'ALL'
)
