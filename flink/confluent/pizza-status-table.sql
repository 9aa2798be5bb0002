-- The table (and topic) the status service reads. On Confluent Cloud every stage
-- topic is already a table; only this one is created.
--
-- Formats, chosen so the status service reads the topic with no extra setup:
-- * key 'raw': the order id as plain UTF-8, like the key of every other pizza
--   topic. Left to the default (avro-registry) the key would start with the
--   5-byte Schema Registry header, which is what broke the workshop's consumer.
-- * value 'json-registry': plain JSON text after the 5-byte header. Confluent
--   Cloud does not offer schemaless JSON for a table it creates (avro-registry,
--   json-registry or proto-registry), and of those JSON is the one the status
--   service decodes without calling Schema Registry, so the [schema-registry]
--   section stays optional. The schema is still registered, so the table stays
--   typed for SELECTs, lineage and other consumers.
-- * 'value.fields-include' = 'all': the order id is in the value too, so every
--   record is self-describing whatever a consumer makes of the key.
-- Create it before the INSERT, and do not create the topic by hand: a topic that
-- already exists is inferred as a table with bytes columns, and this statement
-- then fails because the table exists (DROP TABLE it first).
CREATE TABLE {{ident:status}} (
  orderid STRING,
  status INT,
  `timestamp` BIGINT,
  PRIMARY KEY (orderid) NOT ENFORCED
)
DISTRIBUTED BY HASH(orderid) INTO {{raw:partitions}} BUCKETS
WITH (
  'key.format' = 'raw',
  'value.format' = 'json-registry',
  'value.fields-include' = 'all'
)
