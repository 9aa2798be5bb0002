import type { Bus } from '../adapters/bus/bus.js';
import { EmbeddedBus } from '../adapters/bus/embedded.js';
import { withContracts } from '../adapters/contracts/contract-bus.js';
import type { ContractTopic } from '../adapters/contracts/contracts.js';
import type { LoggerFactory } from '../adapters/logs/logger.js';
import { ShopMetrics } from '../adapters/metrics/shop-metrics.js';
import { type OperatorServer, startOperatorServer } from '../adapters/operator/server.js';
import { tracedBus } from '../adapters/tracing/tracing.js';
import type { RoleName, Settings } from '../config/settings.js';
import { type Clock, systemClock } from '../domain/clock.js';
import { createAssembleRole } from './assemble.js';
import { createBakeRole } from './bake.js';
import { createDeliverRole } from './deliver.js';
import { lagMetrics } from './lag-metrics.js';
import { publishOrderLogs } from './order-logs.js';
import type { Role, RoleDeps } from './role.js';
import { startRoleStats } from './role-stats.js';
import { createServeRole } from './serve.js';
import { ShopStores } from './shop-stores.js';
import { createStatusRole } from './status.js';
import { type StopStep, stopEach } from './stop-each.js';

export const ALL_ROLES: readonly RoleName[] = ['status', 'deliver', 'bake', 'assemble', 'serve'];

export interface ShopOptions {
  settings: Settings;
  roles: readonly RoleName[];
  logs: LoggerFactory;
  /** A bus to share (tests); by default the settings choose Kafka or the embedded bus. */
  bus?: Bus;
  clock?: Clock;
  /** One process's metrics; shops in one test process may share or keep their own. */
  metrics?: ShopMetrics;
  /** Carry trace context on every record the roles publish and work on (tracing must be started). */
  traced?: boolean;
}

export interface RunningShop {
  bus: Bus;
  roles: Role[];
  /** The web app's address, when `serve` is among the roles. */
  url: string | undefined;
  /** Metrics, probes and dead letters for operators. */
  operatorUrl: string | undefined;
  /** Stops the roles (the web app first, so no new orders arrive), then the bus. Idempotent. */
  stop(): Promise<void>;
}

/** The topics under contract each role writes: their contracts are registered (or found) when it starts. */
const CONTRACT_WRITES: Record<RoleName, readonly ContractTopic[]> = {
  serve: ['ordered', 'cancelRequested'],
  assemble: ['assembled', 'cancelled'],
  bake: ['baked', 'cancelled'],
  deliver: ['delivered', 'pending', 'cancelled'],
  status: [],
};

export async function createBus(settings: Settings, logs: LoggerFactory): Promise<Bus> {
  if (!settings.kafka) {
    return new EmbeddedBus({
      partitions: settings.topicConfig.numPartitions,
      deadLetterTopic: settings.topics.deadLetter,
    });
  }
  const { createKafkaBus } = await import('../adapters/kafka/kafka-bus.js');
  return createKafkaBus({ settings, log: logs.forRole('kafka') });
}

/** Builds the chosen roles on one bus and starts them; the one place roles are wired. */
export async function startShop(options: ShopOptions): Promise<RunningShop> {
  const { settings, logs } = options;
  const clock = options.clock ?? systemClock;
  const ownsBus = !options.bus;
  const plainBus = options.bus ?? (await createBus(settings, logs));
  // Roles read and write plain JSON; the contract bus frames and unframes it on the wire.
  let bus: Bus;
  try {
    const writes = new Set(options.roles.flatMap((role) => CONTRACT_WRITES[role].map((key) => settings.topics[key])));
    bus = await withContracts(plainBus, { settings, writes: [...writes], log: logs.root });
  } catch (error) {
    if (ownsBus) await plainBus.close();
    throw error;
  }
  // Every role's lines about an order go to the log topic too, for the web app on any host.
  const orderLogSink = await publishOrderLogs({ bus, settings, logs });
  const metrics = options.metrics ?? new ShopMetrics();
  // The roles see a traced bus when tracing is on; the shop keeps the bus itself.
  const roleBus = options.traced ? tracedBus(bus) : bus;
  // Each SQLite file is opened once for all the roles of this process, and closed after them.
  // A full file is said in the role's own log when the process runs one role (its file is where operators look).
  const [onlyRole, ...otherRoles] = options.roles;
  const stores = new ShopStores(settings, onlyRole && otherRoles.length === 0 ? logs.forRole(onlyRole) : logs.root);
  const deps = (role: RoleName): RoleDeps => ({
    bus: roleBus,
    settings,
    clock,
    log: logs.forRole(role),
    metrics,
    stores,
  });

  const roles: Role[] = [];
  let serve: ReturnType<typeof createServeRole> | undefined;
  for (const name of ALL_ROLES.filter((role) => options.roles.includes(role))) {
    switch (name) {
      case 'assemble':
        roles.push(createAssembleRole(deps(name)));
        break;
      case 'bake':
        roles.push(createBakeRole(deps(name)));
        break;
      case 'deliver':
        roles.push(createDeliverRole(deps(name)));
        break;
      case 'status':
        roles.push(createStatusRole(deps(name)));
        break;
      case 'serve':
        serve = createServeRole(deps(name));
        roles.push(serve);
        break;
    }
  }

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // The web app goes first so no new orders arrive; then the stages in the order work flows, the view last.
      // Every part is stopped even when one fails, and every failure is reported.
      try {
        await stopEach([
          ['operator server', () => operator?.close()],
          ['lag metrics', () => lag.close()],
          ...[...roles].reverse().map((role): StopStep => [`role ${role.name}`, () => role.stop()]),
          ['role stats', () => roleStats?.stop()],
          ['order log sink', () => orderLogSink?.close()],
          ...(ownsBus ? [['bus', () => bus.close()] as const] : []),
          ['sqlite files', async () => stores.close()],
        ]);
      } finally {
        logs.flush();
      }
    })();
    return stopping;
  };

  let operator: OperatorServer | undefined;
  const lag = lagMetrics({ bus, settings, metrics, log: logs.root });
  let roleStats: Awaited<ReturnType<typeof startRoleStats>>;
  try {
    for (const role of roles) await role.start();
    // Work in flight per role, for the lineage view of any host (Kafka only).
    roleStats = await startRoleStats({ bus, settings, metrics, roles: roles.map((role) => role.name), log: logs.root });
    operator = await startOperatorServer({
      settings,
      bus,
      metrics,
      log: logs.root,
      checks: () => [
        ...roles.map((role) => ({ name: role.name, notReady: () => role.readiness?.() })),
        // A full file: the roles wait for room and take no new work from it meanwhile.
        { name: 'sqlite', notReady: () => stores.notReady() },
      ],
      beforeScrape: async () => {
        for (const role of roles) await role.refreshMetrics?.();
        await lag.refresh();
      },
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { bus, roles, url: serve?.url(), operatorUrl: operator.url, stop };
}
