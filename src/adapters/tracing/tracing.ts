import { type Context, context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-node';
import type { Bus, BusRecord, HostReadOptions, OutgoingHeaders, RecordHandler, SubscribeOptions } from '../bus/bus.js';

const TRACER = 'pizza';

export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces. */
  endpoint?: string | undefined;
  /** Instead of OTLP: where spans go (tests give an in-memory exporter). */
  exporter?: SpanExporter;
}

export interface Tracing {
  shutdown(): Promise<void>;
}

/**
 * Switches tracing on for this process. Without it the OpenTelemetry API is
 * a no-op: no spans, no headers, no measurable cost.
 */
export function startTracing(options: TracingOptions): Tracing {
  const exporter = options.exporter ?? new OTLPTraceExporter({ url: options.endpoint });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    // Tests want each span at once; a real exporter gets batches.
    spanProcessors: [options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return {
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/**
 * The bus with every record carrying W3C trace context in a `traceparent`
 * header: a publish is a producer span, and the work on a record is a consumer
 * span whose parent is the publish that made it, so one order is one trace
 * across the web app and every role, on any bus. The JSON is untouched.
 */
export function tracedBus(bus: Bus): Bus {
  const tracer = trace.getTracer(TRACER);
  return {
    get kind() {
      return bus.kind;
    },
    async publish(topic, key, value, headers) {
      return tracer.startActiveSpan(`publish ${topic}`, { kind: SpanKind.PRODUCER }, async (span) => {
        const carrier: Record<string, string> = {};
        propagation.inject(context.active(), carrier);
        const withTrace: OutgoingHeaders = { ...headers, ...carrier };
        span.setAttribute('messaging.destination.name', topic);
        return finish(span, () => bus.publish(topic, key, value, withTrace));
      });
    },
    subscribe(options: SubscribeOptions) {
      return bus.subscribe({ ...options, handle: tracedHandler(tracer, options.role, options.handle) });
    },
    read(options: HostReadOptions) {
      return bus.read({ ...options, handle: tracedHandler(tracer, options.role, options.handle) });
    },
    hostReaders: () => bus.hostReaders(),
    requireTopics: (topics) => bus.requireTopics(topics),
    connectivity: () => bus.connectivity(),
    readTopic: (topic) => bus.readTopic(topic),
    readRanges: (ranges) => bus.readRanges(ranges),
    committedOffsets: (groupId, partitions) => bus.committedOffsets(groupId, partitions),
    close: () => bus.close(),
  };
}

/** The work on a record as a consumer span, whose parent is the publish that made the record. */
function tracedHandler(tracer: ReturnType<typeof trace.getTracer>, role: string, handle: RecordHandler): RecordHandler {
  return (record, signal) => {
    const parent = extractTrace(record);
    return tracer.startActiveSpan(
      `${role} process ${record.topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.destination.name': record.topic,
          'messaging.kafka.destination.partition': record.partition,
          'messaging.kafka.message.offset': Number(record.offset),
          ...(record.key ? { 'pizza.order_id': record.key } : {}),
        },
      },
      parent,
      (span) => finish(span, () => handle(record, signal)),
    );
  };
}

/** The trace context a record carries, or the current one when it has none (Flink's pizza-status drops headers). */
export function extractTrace(record: BusRecord): Context {
  const carrier: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.headers)) carrier[name] = value.toString('utf8');
  return propagation.extract(context.active(), carrier);
}

async function finish<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    span.recordException(error instanceof Error ? error : new Error(String(error)));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}
