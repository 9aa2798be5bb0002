-- The table (and topic) the status service reads, with the contracts on
-- ([pizza-shop] value_format = avro). On Confluent Cloud every stage topic is already
-- a table, its columns inferred from the contract registered under <topic>-value (the
-- key, which has no schema, as `key` BYTES); only this one is created.
--
-- * key 'raw': the order id as plain UTF-8, like the key of every other pizza topic.
-- * value 'avro-registry': framed Avro, as the roles write the stage topics. The
--   status service reads it through the [schema-registry] section.
-- * The columns are those of contracts/pizza-status.avsc, NOT NULL where the contract
--   has no null, so the schema Confluent Cloud registers for this table under
--   <topic>-value has the contract's fields and types (its record name is Confluent
--   Cloud's own; see docs/flink.md).
-- * 'value.fields-include' = 'all': the order id is in the value too, as the contract says.
-- Create it before the INSERT, and do not create the topic by hand: a topic that
-- already exists is inferred as a table, and this statement then fails because the
-- table exists (DROP TABLE it first).
CREATE TABLE {{ident:status}} (
  {{raw:columns}},
  PRIMARY KEY (orderid) NOT ENFORCED
)
DISTRIBUTED BY HASH(orderid) INTO {{raw:partitions}} BUCKETS
WITH (
  'key.format' = 'raw',
  'value.format' = 'avro-registry',
  'value.fields-include' = 'all'
)
