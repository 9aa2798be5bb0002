/**
 * Small line charts as plain SVG text, for the bench report: no library and
 * nothing fetched, so the file opens anywhere (and GitHub shows it in the README).
 */

export interface ChartSeries {
  name: string;
  color: string;
  /** [x, y]; a null y breaks the line. */
  points: ReadonlyArray<readonly [number, number | null]>;
  dashed?: boolean;
}

/** A horizontal reference line across the chart: a ceiling or a target. */
export interface ChartLine {
  label: string;
  value: number;
  color: string;
  dashed?: boolean;
}

/** A shaded span of x: a phase of the run. */
export interface ChartBand {
  from: number;
  to: number;
  label: string;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  lines?: ChartLine[];
  bands?: ChartBand[];
  /** Log scale for y, for latencies that span milliseconds to seconds. */
  logY?: boolean;
  width?: number;
  height?: number;
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
/** Phases alternate between two faint fills, so where one ends and the next begins shows. */
const BAND_FILLS = ['#f3f6f9', '#fbf4ea'];
const MARGIN = { left: 64, right: 16, top: 48, bottom: 40 };

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function round(value: number): string {
  return (Math.round(value * 10) / 10).toString();
}

/** About `count` round tick values covering [min, max]. */
function linearTicks(min: number, max: number, count = 5): number[] {
  const span = max - min || 1;
  const rough = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 2.5, 5, 10].find((factor) => factor * magnitude >= rough) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let value = Math.ceil(min / step) * step; value <= max + step * 1e-9; value += step) ticks.push(value);
  return ticks;
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let power = Math.floor(Math.log10(min)); power <= Math.ceil(Math.log10(max)); power += 1) {
    for (const factor of [1, 2, 5]) {
      const value = factor * 10 ** power;
      if (value >= min && value <= max) ticks.push(value);
    }
  }
  return ticks;
}

function tickLabel(value: number): string {
  if (value >= 1_000_000) return `${value / 1_000_000}M`;
  if (value >= 10_000) return `${value / 1_000}k`;
  if (value >= 1_000) return value.toLocaleString('en-US');
  return Number.isInteger(value) ? String(value) : value.toPrecision(2);
}

/** The chart's elements, drawn in a box of `width` × `height` at (0, 0); wrap them in `<svg>` or a `<g>`. */
export function chartElements(options: ChartOptions): string {
  const width = options.width ?? 760;
  const height = options.height ?? 280;
  const plot = {
    left: MARGIN.left,
    top: MARGIN.top,
    width: width - MARGIN.left - MARGIN.right,
    height: height - MARGIN.top - MARGIN.bottom,
  };
  const xs = options.series.flatMap((series) => series.points.map(([x]) => x));
  for (const band of options.bands ?? []) xs.push(band.from, band.to);
  const ys = [
    ...options.series.flatMap((series) => series.points.flatMap(([, y]) => (y === null ? [] : [y]))),
    ...(options.lines ?? []).map((line) => line.value),
  ].filter((y) => Number.isFinite(y) && (!options.logY || y > 0));
  const xMin = xs.length > 0 ? Math.min(...xs) : 0;
  const xMax = xs.length > 0 ? Math.max(...xs, xMin + 1) : 1;
  let yMin = options.logY ? Math.max(1, ys.length > 0 ? Math.min(...ys) : 1) : 0;
  let yMax = ys.length > 0 ? Math.max(...ys) : 1;
  if (options.logY) {
    yMin = 10 ** Math.floor(Math.log10(yMin));
    yMax = 10 ** Math.ceil(Math.log10(Math.max(yMax, yMin * 10)));
  } else {
    // Room above the highest value, so a ceiling line and its label stay inside the frame.
    const ticks = linearTicks(0, yMax * 1.12);
    const step = (ticks[1] ?? 1) - (ticks[0] ?? 0);
    yMax = Math.ceil((yMax * 1.12) / step) * step;
  }
  const x = (value: number) => plot.left + ((value - xMin) / (xMax - xMin)) * plot.width;
  const y = (value: number) => {
    const share = options.logY
      ? (Math.log10(Math.max(value, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))
      : (value - yMin) / (yMax - yMin || 1);
    return plot.top + plot.height - Math.min(1, Math.max(0, share)) * plot.height;
  };

  const parts: string[] = [];
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(
    `<text x="${plot.left}" y="20" ${FONT} font-size="15" font-weight="600" fill="#1f2328">${escapeXml(options.title)}</text>`,
  );
  for (const [index, band] of (options.bands ?? []).entries()) {
    parts.push(
      `<rect x="${round(x(band.from))}" y="${plot.top}" width="${round(Math.max(0, x(band.to) - x(band.from)))}" height="${plot.height}" fill="${BAND_FILLS[index % BAND_FILLS.length]}"/>`,
      `<text x="${round(x(band.from) + 4)}" y="${plot.top + 14}" ${FONT} font-size="11" fill="#59636e">${escapeXml(band.label)}</text>`,
    );
  }
  const yTicks = options.logY ? logTicks(yMin, yMax) : linearTicks(yMin, yMax);
  for (const tick of yTicks) {
    parts.push(
      `<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${round(y(tick))}" y2="${round(y(tick))}" stroke="#d8dee4" stroke-width="1"/>`,
      `<text x="${plot.left - 6}" y="${round(y(tick) + 4)}" ${FONT} font-size="11" fill="#59636e" text-anchor="end">${tickLabel(tick)}</text>`,
    );
  }
  for (const tick of linearTicks(xMin, xMax, 8)) {
    parts.push(
      `<text x="${round(x(tick))}" y="${plot.top + plot.height + 16}" ${FONT} font-size="11" fill="#59636e" text-anchor="middle">${tickLabel(tick)}</text>`,
    );
  }
  parts.push(
    `<rect x="${plot.left}" y="${plot.top}" width="${plot.width}" height="${plot.height}" fill="none" stroke="#8c959f" stroke-width="1"/>`,
    `<text x="${plot.left + plot.width / 2}" y="${height - 6}" ${FONT} font-size="12" fill="#1f2328" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(14 ${plot.top + plot.height / 2}) rotate(-90)" ${FONT} font-size="12" fill="#1f2328" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  for (const line of options.lines ?? []) {
    if (!Number.isFinite(line.value)) continue;
    const at = round(y(line.value));
    parts.push(
      `<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${at}" y2="${at}" stroke="${line.color}" stroke-width="1.5"${line.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${plot.left + plot.width - 4}" y="${round(y(line.value) - 4)}" ${FONT} font-size="11" fill="${line.color}" text-anchor="end">${escapeXml(line.label)}</text>`,
    );
  }
  for (const series of options.series) {
    let path = '';
    let pen = false;
    for (const [px, py] of series.points) {
      if (py === null || !Number.isFinite(py)) {
        pen = false;
        continue;
      }
      path += `${pen ? 'L' : 'M'}${round(x(px))} ${round(y(py))} `;
      pen = true;
    }
    if (path) {
      parts.push(
        `<path d="${path.trim()}" fill="none" stroke="${series.color}" stroke-width="2" stroke-linejoin="round"${series.dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
      );
    }
  }
  // The legend, in a row under the title; the reference lines carry their own labels.
  let legendX = plot.left;
  for (const item of options.series) {
    parts.push(
      `<line x1="${legendX}" x2="${legendX + 18}" y1="34" y2="34" stroke="${item.color}" stroke-width="2"${item.dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
      `<text x="${legendX + 22}" y="38" ${FONT} font-size="11" fill="#1f2328">${escapeXml(item.name)}</text>`,
    );
    legendX += 30 + item.name.length * 6;
  }
  return parts.join('\n');
}

/** A standalone `<svg>` with one chart. */
export function lineChart(options: ChartOptions): string {
  const width = options.width ?? 760;
  const height = options.height ?? 280;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(options.title)}">\n${chartElements({ ...options, width, height })}\n</svg>`;
}

/** Several charts stacked in one `<svg>`, with a caption under them. */
export function stackedCharts(charts: ChartOptions[], caption: string, width = 760): string {
  const heights = charts.map((chart) => chart.height ?? 280);
  const total = heights.reduce((sum, height) => sum + height, 0) + 28;
  let top = 0;
  const groups = charts.map((chart, index) => {
    const group = `<g transform="translate(0 ${top})">\n${chartElements({ ...chart, width })}\n</g>`;
    top += heights[index] ?? 0;
    return group;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${total}" viewBox="0 0 ${width} ${total}" role="img" aria-label="${escapeXml(caption)}">`,
    `<rect x="0" y="0" width="${width}" height="${total}" fill="#ffffff"/>`,
    ...groups,
    `<text x="${MARGIN.left}" y="${total - 10}" ${FONT} font-size="11" fill="#59636e">${escapeXml(caption)}</text>`,
    '</svg>',
  ].join('\n');
}
