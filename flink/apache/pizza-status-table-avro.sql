-- The table (and topic) the status service reads, with the contracts on: one record
-- per status change, keyed by the order id as raw UTF-8, the value framed Avro under
-- the topic's contract. The columns are the contract's fields, NOT NULL where the
-- contract has no null: Flink checks that a schema it is handed matches its table.
-- It is handed the contract ('avro-confluent.schema') and its subject, so it looks up
-- or registers the contract itself under <topic>-value, never a schema derived from
-- this table (which would carry Flink's own record name).
CREATE TABLE {{ident:status}} (
  {{raw:columns}},
  PRIMARY KEY (orderid) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka',
  'topic' = {{string:topic}},
  {{raw:connection}}
  'key.format' = 'raw',
  {{raw:registry}}
  'value.fields-include' = 'ALL'
)
