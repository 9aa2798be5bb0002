-- A stage topic as a table, with the contracts on ([pizza-shop] value_format = avro):
-- each value is framed Avro (a 0x00 byte, the 4-byte schema id, the Avro body), read by
-- 'avro-confluent' through the Schema Registry. The writer's schema comes from the
-- registry by the id in each record; the reader's is derived from these columns, the
-- contract fields the job reads, typed as in the contract. Avro's schema resolution
-- skips the fields the table leaves out, so an added optional field changes nothing here.
-- The key stays the order id as raw UTF-8, in `key` as Confluent Cloud names it.
-- A table has one value format: a plain JSON record fails the job, so the job starts
-- where every record is framed (see docs/contracts.md, the cut-over).
CREATE TABLE {{ident:table}} (
  `key` BYTES,
  {{raw:columns}}
) WITH (
  'connector' = 'kafka',
  'topic' = {{string:topic}},
  {{raw:connection}}
  'scan.startup.mode' = 'earliest-offset',
  'key.format' = 'raw',
  'key.fields' = 'key',
  {{raw:registry}}
  'value.fields-include' = 'EXCEPT_KEY'
)
