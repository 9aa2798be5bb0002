import type { FlinkSqlRunnerAddress } from '../../tools/flink/client.js';

/** Values the global setups hand to test files through `inject()`. */
declare module 'vitest' {
  export interface ProvidedContext {
    /** `host:port` of the suite's Kafka broker; '' in the unit tier, which has none. */
    kafkaBootstrap: string;
    /** The suite's Schema Registry, `http://127.0.0.1:PORT/apis/ccompat/v7`; '' where there is none. */
    schemaRegistryUrl: string;
    /** The flink project's shared Flink SQL runner, and the file its JVM logs to. */
    flinkSqlRunner: FlinkSqlRunnerAddress & { logFile: string };
  }
}
