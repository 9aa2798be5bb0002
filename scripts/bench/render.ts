/**
 * Draws the report of an earlier `npm run bench` again from its JSON, e.g. to
 * put a chosen run's picture in docs/:
 *   npx tsx scripts/bench/render.ts [bench-results/bench-<date>.json] [--docs]
 * Writes bench-results/report.html and bench-results/bench-report.svg, and with
 * --docs (or BENCH_DOCS=1, as for `npm run bench`) docs/bench-report.svg as well.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readmeSvg, reportHtml } from './report.js';
import { type BenchResults, benchRows } from './results.js';
import { repoRoot, resultsDir } from './shop-process.js';

const args = process.argv.slice(2);
const file = args.find((arg) => !arg.startsWith('--')) ?? join(resultsDir, 'latest.json');
const toDocs = args.includes('--docs') || process.env.BENCH_DOCS === '1';
const results = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
writeFileSync(join(resultsDir, 'report.html'), reportHtml(results, benchRows(results)));
const svg = readmeSvg(results);
writeFileSync(join(resultsDir, 'bench-report.svg'), svg);
if (toDocs) writeFileSync(join(repoRoot, 'docs', 'bench-report.svg'), svg);
console.log(
  `drawn from ${file}: bench-results/report.html, bench-results/bench-report.svg${toDocs ? ', docs/bench-report.svg' : ''}`,
);
