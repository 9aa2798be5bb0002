-- A stage topic as a table. Open-source Flink has no tables for topics, so each is
-- declared, with the columns Confluent Cloud infers for a topic without a schema
-- (`key` and `val` as raw bytes): the INSERT statement is then the same text on both.
-- earliest-offset: the default (group offsets) would fail on a new group, and
-- pizza-status is rebuilt from the whole history anyway.
CREATE TABLE {{ident:table}} (
  `key` BYTES,
  `val` BYTES
) WITH (
  'connector' = 'kafka',
  'topic' = {{string:topic}},
  {{raw:connection}}
  'scan.startup.mode' = 'earliest-offset',
  'key.format' = 'raw',
  'key.fields' = 'key',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY'
)
