/** Values the global setup hands to every test file through `inject()`. */
declare module 'vitest' {
  export interface ProvidedContext {
    /** `host:port` of the suite's Kafka broker. */
    kafkaBootstrap: string;
  }
}

export {};
