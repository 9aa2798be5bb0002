/**
 * Broker faults on a 3-broker cluster, with orders in flight: the fault
 * suite's shop (one `pizza <role>` process per role), on topics with 3
 * copies and min.insync.replicas 2. One cluster and one shop per file; each
 * trial places its own orders, judges only those, and leaves all three
 * brokers up and in sync for the next.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duplicates, reportAndCheck, ViewWatcher } from '../support/faults-checks.js';
import { OrderPlacer, waitForDelivered } from '../support/faults-orders.js';
import { type FaultRole, FaultShop, STAGE_TOPICS } from '../support/faults-shop.js';
import {
  CLUSTER_REPLICATION,
  ClusterInspector,
  type KafkaCluster,
  startTestCluster,
  transactionalIdOf,
} from '../support/kafka-cluster.js';

type Processing = 'at-least-once' | 'exactly-once';

const ROLES: FaultRole[] = ['status', 'deliver', 'bake', 'assemble', 'serve'];
const ORDERS = 20;
const FAULT_AFTER_ORDERS = 6;
const PAUSE_MS = 20_000;
/** Orders get this long with the cluster short of a broker, then this much longer once it is whole again. */
const FAULTED_DELIVERY_MS = 60_000;
const RESTORED_DELIVERY_MS = 90_000;
const TRIAL_TIMEOUT_MS = 300_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Trial {
  shop: FaultShop;
  cluster: KafkaCluster;
  inspector: ClusterInspector;
  placer: OrderPlacer;
}

interface FaultOutcome {
  /** When the fault began, epoch ms. */
  at: number;
  /** Brings the cluster back whole (a killed broker restarted); runs after the orders were waited for. */
  restore?: () => Promise<void>;
  notes: string[];
}

/** How long each step of a setup took, for the log. */
class Steps {
  private last = Date.now();
  private readonly done: string[] = [];
  mark(step: string): void {
    const now = Date.now();
    this.done.push(`${step} ${now - this.last} ms`);
    this.last = now;
  }
  toString(): string {
    return this.done.join(', ');
  }
}

/** From the fault to the first delivery after it, to the last, and the longest gap between deliveries in between. */
function deliveryTimes(shop: FaultShop, orderIds: readonly string[], at: number) {
  const wanted = new Set(orderIds);
  const times = shop.recorder
    .topic(shop.topics.delivered)
    .filter((record) => wanted.has(record.key?.toString('utf8') ?? '') && record.timestamp >= at)
    .map((record) => record.timestamp)
    .sort((a, b) => a - b);
  let gap = 0;
  let previous = at;
  for (const time of times) {
    gap = Math.max(gap, time - previous);
    previous = time;
  }
  const first = times[0];
  const last = times.at(-1);
  return {
    'first delivery after fault': first === undefined ? undefined : first - at,
    'longest delivery gap': times.length === 0 ? undefined : gap,
    'last delivery after fault': last === undefined ? undefined : last - at,
  };
}

/** Runs one fault with orders in flight, restores the cluster, and checks the trial's orders. */
async function runTrial(
  trial: Trial,
  name: string,
  processing: Processing,
  fault: (trial: Trial) => Promise<FaultOutcome>,
  /** One order every this often: slower for a long fault, so orders are in flight all through it. */
  intervalMs = 200,
): Promise<void> {
  const { shop, inspector, placer } = trial;
  const before = placer.placed.size;
  const watcher = new ViewWatcher(shop);
  const placing = placer.place({ count: ORDERS, intervalMs, maxInFlight: 8, timeoutMs: 120_000 });
  await placer.placedAtLeast(before + FAULT_AFTER_ORDERS);
  const outcome = await fault(trial);
  const orderIds = await placing;
  // Delivered while the cluster is still short of a broker (after a kill): two of three copies are enough.
  const whileFaulted = await waitForDelivered(shop, orderIds, FAULTED_DELIVERY_MS);
  const restoreStart = Date.now();
  await outcome.restore?.();
  await inspector.waitInSync(Object.values(shop.topics));
  const restoredMs = Date.now() - restoreStart;
  const { missing, onTopic, inView } = await waitForDelivered(shop, orderIds, RESTORED_DELIVERY_MS);
  watcher.stop();
  // Where the undelivered stopped: the last stage topic that holds each, and whether the view has it delivered.
  const reached = missing.map((orderId) => {
    const stage = STAGE_TOPICS.filter((topic) => shop.recorder.keyCounts(shop.topics[topic]).has(orderId)).at(-1);
    return `${orderId}: ${stage ?? 'no topic'}${onTopic.has(orderId) ? ' (delivered on topic)' : ''}${inView.has(orderId) ? ' (delivered in view)' : ''}`;
  });
  reportAndCheck(shop, {
    trial: `cluster ${processing} ${name}`,
    orderIds,
    deadLetters: shop.recorder.topic(shop.topics.deadLetter).length,
    failoverMs: { ...deliveryTimes(shop, orderIds, outcome.at), 'restore and in sync': restoredMs },
    watcher,
    notes: [
      ...outcome.notes,
      `${whileFaulted.missing.length} orders undelivered before the cluster was restored, ${missing.length} after`,
      ...(reached.length > 0 ? [`undelivered: ${reached.slice(0, 6).join('; ')}`] : []),
      `${placer.failures} order attempts failed so far (last: ${placer.lastFailure.slice(0, 160) || 'none'})`,
    ],
  });
  expect.soft(orderIds.length, 'orders placed in the trial').toBe(ORDERS);
  // This trial has failed above; the next one starts from a shop that works, so it judges its own fault.
  if (missing.length > 0 || shop.deadProcesses().length > 0) await restartRoles(shop);
  if (processing === 'exactly-once') {
    expect(duplicates(shop, orderIds)).toEqual({ ordered: 0, assembled: 0, baked: 0, pending: 0, delivered: 0 });
  }
}

/** kill -9 and a new run of every role process, as an operator would restart a stalled shop. */
async function restartRoles(shop: FaultShop): Promise<void> {
  console.log(`FAULTS cluster: restarting every role for the next trial (${shop.deadProcesses().length} had died)`);
  await Promise.all(ROLES.map((role) => shop.current(role).kill9()));
  await Promise.all(ROLES.map((role) => shop.start(role)));
}

/** SIGKILL of a node, then (once the orders were waited for) a restart on its ports and data. */
async function killNode(trial: Trial, nodeId: number, notes: string[]): Promise<FaultOutcome> {
  const at = Date.now();
  await trial.cluster.kill(nodeId);
  return {
    at,
    notes,
    restore: async () => {
      await trial.cluster.restart(nodeId);
    },
  };
}

/** Which of a role's topics a node leads partitions of: the fault must hit partitions in use. */
async function ledTopics(trial: Trial, nodeId: number, topics: string[]): Promise<string[]> {
  const led: string[] = [];
  for (const topic of topics) {
    const partitions = [...(await trial.inspector.leaders(topic)).entries()]
      .filter(([, leader]) => leader === nodeId)
      .map(([partition]) => partition);
    if (partitions.length > 0) led.push(`${topic}[${partitions.join(',')}]`);
  }
  return led;
}

export function clusterTrials(processing: Processing): void {
  describe(`3-broker cluster, ${processing}: broker faults with orders in flight`, () => {
    const trial = {} as Trial;

    beforeAll(async () => {
      const steps = new Steps();
      trial.cluster = await startTestCluster();
      steps.mark('cluster');
      trial.inspector = await ClusterInspector.connect(trial.cluster);
      trial.shop = await FaultShop.create({
        bootstrap: trial.cluster.bootstrapServers,
        processing,
        replication: CLUSTER_REPLICATION,
      });
      steps.mark('topics');
      await Promise.all(ROLES.map((role) => trial.shop.start(role)));
      steps.mark('roles');
      trial.placer = new OrderPlacer(trial.shop.serveUrl);
      // A first order through every stage: every group has its coordinator and every producer its transaction state.
      const warmUp = await trial.placer.place({ count: 2, intervalMs: 100 });
      await waitForDelivered(trial.shop, warmUp, 60_000);
      steps.mark('first orders');
      console.log(`FAULTS cluster ${processing} setup: ${steps}`);
    }, 240_000);

    afterAll(async () => {
      const steps = new Steps();
      await trial.shop?.close();
      steps.mark('shop');
      await trial.inspector?.close();
      await trial.cluster?.close();
      steps.mark('cluster');
      console.log(`FAULTS cluster ${processing} teardown: ${steps}`);
    }, 120_000);

    const bakeTopics = () => [trial.shop.topics.assembled, trial.shop.topics.baked];

    it(
      'kill -9 of the group coordinator of bake, which also leads partitions bake uses',
      async () => {
        await runTrial(trial, 'kill -9 group coordinator (bake)', processing, async () => {
          const coordinator = await trial.inspector.groupCoordinator(trial.shop.groupIds.bake);
          const led = await ledTopics(trial, coordinator, bakeTopics());
          expect(led, `node ${coordinator} leads partitions of bake's topics`).not.toEqual([]);
          return killNode(trial, coordinator, [`killed node ${coordinator}, leader of ${led.join(' ')}`]);
        });
      },
      TRIAL_TIMEOUT_MS,
    );

    if (processing === 'exactly-once') {
      it(
        "kill -9 of the transaction coordinator of deliver's transactional id, which also leads partitions deliver uses",
        async () => {
          await runTrial(trial, 'kill -9 transaction coordinator (deliver)', processing, async () => {
            const transactionalId = transactionalIdOf(trial.shop.groupIds.deliver, join(trial.shop.dir, 'deliver'));
            const coordinator = await trial.inspector.transactionCoordinator(transactionalId);
            const led = await ledTopics(trial, coordinator, [trial.shop.topics.baked, trial.shop.topics.delivered]);
            expect(led, `node ${coordinator} leads partitions of deliver's topics`).not.toEqual([]);
            return killNode(trial, coordinator, [
              `killed node ${coordinator} (coordinator of ${transactionalId}), leader of ${led.join(' ')}`,
            ]);
          });
        },
        TRIAL_TIMEOUT_MS,
      );
    }

    it(
      'kill -9 of the active controller',
      async () => {
        await runTrial(trial, 'kill -9 active controller', processing, async () => {
          const controller = await trial.cluster.activeController();
          if (controller === undefined) throw new Error('no active controller found in the quorum state');
          const at = Date.now();
          const outcome = await killNode(trial, controller, []);
          // A new leader of the metadata quorum, from the survivors' own quorum state.
          let next: number | undefined;
          for (let look = 0; look < 100 && (next === undefined || next === controller); look += 1) {
            await sleep(100);
            next = await trial.cluster.activeController();
          }
          outcome.notes.push(
            `killed controller ${controller}; node ${next} led the quorum ${Date.now() - at} ms later`,
          );
          return outcome;
        });
      },
      TRIAL_TIMEOUT_MS,
    );

    it(
      'a rolling restart of all three brokers, one at a time, each back in sync before the next',
      async () => {
        await runTrial(
          trial,
          'rolling restart',
          processing,
          async ({ cluster, inspector, shop }) => {
            const at = Date.now();
            const steps: string[] = [];
            for (const nodeId of cluster.nodeIds) {
              const start = Date.now();
              await cluster.stop(nodeId);
              await cluster.restart(nodeId);
              await inspector.waitInSync(Object.values(shop.topics));
              steps.push(`node ${nodeId} ${Date.now() - start} ms`);
            }
            return { at, notes: [`stop, restart, in sync: ${steps.join(', ')}`] };
          },
          1_500,
        );
      },
      TRIAL_TIMEOUT_MS,
    );

    it(
      'SIGSTOP of the group coordinator of bake for 20 s, then SIGCONT: a gray failure',
      async () => {
        await runTrial(
          trial,
          'SIGSTOP broker 20 s',
          processing,
          async ({ cluster, inspector, shop }) => {
            const coordinator = await inspector.groupCoordinator(shop.groupIds.bake);
            const led = await ledTopics(trial, coordinator, bakeTopics());
            const at = Date.now();
            cluster.pause(coordinator);
            // The hang itself: its length defines the fault.
            await sleep(PAUSE_MS);
            cluster.resume(coordinator);
            return {
              at,
              notes: [`paused node ${coordinator} for ${PAUSE_MS} ms, leader of ${led.join(' ') || 'nothing'}`],
            };
          },
          800,
        );
      },
      TRIAL_TIMEOUT_MS,
    );
  });
}
