import type { BenchResults } from './results.js';
import type { ShopRun } from './shop-run.js';
import { type ChartBand, type ChartOptions, escapeXml, lineChart, stackedCharts } from './svg-chart.js';
import { type ResultRow, TARGETS, verdict } from './targets.js';
import { percent, whole } from './util.js';

const COLORS = {
  delivered: '#0969da',
  accepted: '#8c959f',
  ceiling: '#cf222e',
  target: '#1a7f37',
  p50: '#0969da',
  p99: '#bc4c00',
  rss: '#8250df',
  tree: '#bf3989',
};

/** The run the charts draw: the first (Kafka, at-least-once unless asked otherwise). */
function primary(results: BenchResults): ShopRun {
  const run = results.runs[0];
  if (!run) throw new Error('no shop run in these results');
  return run;
}

function bands(results: BenchResults): ChartBand[] {
  const run = primary(results);
  const high = run.phases.highRate;
  return [
    { from: run.phases.sustained[0], to: run.phases.sustained[1], label: 'sustained: as fast as it goes' },
    {
      from: run.phases.latency[0],
      to: run.phases.latency[1],
      label: `${whole(run.latency.offeredPerSecond)}/s offered`,
    },
    ...(high && run.highRate
      ? [{ from: high[0], to: high[1], label: `${whole(run.highRate.offeredPerSecond)}/s offered` }]
      : []),
  ];
}

export function throughputChart(results: BenchResults): ChartOptions {
  const run = primary(results);
  return {
    title: 'Orders per second: the shop against the Kafka client ceiling',
    xLabel: 'seconds since the sustained phase began',
    yLabel: 'orders/s',
    bands: bands(results),
    series: [
      {
        name: 'delivered in the view',
        color: COLORS.delivered,
        points: run.series.map((bin) => [bin.t, bin.delivered] as const),
      },
      {
        name: 'accepted (POST)',
        color: COLORS.accepted,
        dashed: true,
        points: run.series.map((bin) => [bin.t, bin.accepted] as const),
      },
    ],
    lines: [
      {
        label: `Kafka client ceiling ${whole(results.kafkaCeiling.ordersPerSecond)}/s`,
        value: results.kafkaCeiling.ordersPerSecond,
        color: COLORS.ceiling,
      },
      {
        label: `target ${percent(TARGETS.shareOfCeiling)} of the ceiling, ${whole(TARGETS.shareOfCeiling * results.kafkaCeiling.ordersPerSecond)}/s`,
        value: TARGETS.shareOfCeiling * results.kafkaCeiling.ordersPerSecond,
        color: COLORS.target,
        dashed: true,
      },
    ],
  };
}

export function latencyChart(results: BenchResults): ChartOptions {
  const run = primary(results);
  return {
    title: 'Latency of the orders delivered each second: POST to delivered in the view',
    xLabel: 'seconds since the sustained phase began',
    yLabel: 'ms (log scale)',
    logY: true,
    bands: bands(results),
    series: [
      { name: 'p50', color: COLORS.p50, points: run.series.map((bin) => [bin.t, bin.p50Ms] as const) },
      { name: 'p99', color: COLORS.p99, points: run.series.map((bin) => [bin.t, bin.p99Ms] as const) },
    ],
    lines: [
      {
        label: `target p99 ${TARGETS.p99Ms} ms at ${TARGETS.latencyRate}/s`,
        value: TARGETS.p99Ms,
        color: COLORS.target,
        dashed: true,
      },
    ],
  };
}

export function memoryChart(results: BenchResults): ChartOptions {
  const run = primary(results);
  const series = [
    {
      name: 'RSS of pizza all',
      color: COLORS.rss,
      points: run.memorySamples.map((sample) => [sample.t, Object.values(sample.rssMb)[0] ?? null] as const),
    },
  ];
  if (run.memory.processes > 1) {
    series.push({
      name: 'with its child processes',
      color: COLORS.tree,
      points: run.memorySamples.map((sample) => [sample.t, sample.totalRssMb] as const),
    });
  }
  return {
    title: 'Resident memory, read once a second',
    xLabel: 'seconds since the sustained phase began',
    yLabel: 'MB',
    bands: bands(results),
    series,
    lines: [
      { label: `target ${TARGETS.peakRssMbAll} MB`, value: TARGETS.peakRssMbAll, color: COLORS.target, dashed: true },
    ],
  };
}

function caption(results: BenchResults): string {
  const run = primary(results);
  return `npm run bench, ${results.date.slice(0, 10)}: ${results.cpus} cores shared by the broker, the load generator and pizza all; ${results.partitions} partitions, ${run.bus === 'kafka' ? run.processing : 'the embedded bus'}`;
}

/** The README's picture: throughput against the ceiling, and latency. */
export function readmeSvg(results: BenchResults): string {
  return stackedCharts([throughputChart(results), latencyChart(results)], caption(results));
}

function tableHtml(rows: readonly ResultRow[]): string {
  const body = rows
    .map(
      (row) =>
        `<tr><td${row.measure.startsWith(' ') ? ' class="sub"' : ''}>${escapeXml(row.measure.trim())}</td><td class="num">${escapeXml(row.result)}</td><td>${escapeXml(row.target)}</td><td class="${
          row.met === undefined ? '' : row.met ? 'met' : 'missed'
        }">${verdict(row.met)}</td></tr>`,
    )
    .join('\n');
  return `<table>\n<thead><tr><th>measure</th><th>result</th><th>target (issue 18)</th><th></th></tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** One self-contained page: the summary table and three charts, inline SVG, nothing fetched. */
export function reportHtml(results: BenchResults, rows: readonly ResultRow[]): string {
  const ceiling = results.kafkaCeiling;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pizza bench ${escapeXml(results.date)}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; margin: 2rem auto; max-width: 960px; padding: 0 1rem; }
h1 { font-size: 1.4rem; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { white-space: nowrap; border-bottom: 1px solid #d8dee4; padding: 0.3rem 0.6rem; text-align: left; }
td.sub { padding-left: 1.6rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.met { color: #1a7f37; }
td.missed { color: #cf222e; font-weight: 600; }
figure { margin: 1.5rem 0; }
svg { max-width: 100%; height: auto; }
p.small { color: #59636e; font-size: 0.9rem; }
</style>
</head>
<body>
<h1>pizza: <code>npm run bench</code></h1>
<p class="small">${escapeXml(caption(results))}. Node ${escapeXml(results.node)}. Written ${escapeXml(results.date)}.</p>
${tableHtml(rows)}
<p class="small">The ceiling is the same Kafka client library with the shop's producer settings, on the same broker and ${ceiling.partitions} partitions, with messages of the shop's own events (${ceiling.averageMessageBytes.toFixed(0)} bytes on average, key included): ${whole(ceiling.produce.messages)} produced in sends of ${whole(ceiling.sendSize)} (${ceiling.sendsInFlight} in flight) and read back with <code>eachBatch</code> by a new group. An order needs 4 produces and 8 consumes, so the ceiling in orders/s is 1 / (4/P + 8/C). The bare route is a fastify ${escapeXml(results.webCeiling.fastifyVersion)} app with one POST route that answers 303 and does nothing else, hit by the same client code as the order form (the bench's load generator, built on <code>fetch</code>); the same route hit from a bare <code>node:http</code> client with keep-alive shows how much of that limit is the load generator's own.</p>
<figure>${lineChart(throughputChart(results))}</figure>
<figure>${lineChart(latencyChart(results))}</figure>
<figure>${lineChart(memoryChart(results))}</figure>
<p class="small">Per-second figures are binned from each order's timestamps: when its POST went out and was answered, and when the view marked it delivered. Memory is VmRSS of the process(es), read from /proc once a second; the table's peak is VmHWM.</p>
</body>
</html>
`;
}
