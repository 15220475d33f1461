/**
 * Where a benchmark's results go: the aligned table on stdout (`./table`), and for README the same
 * table as Markdown plus a bar chart as SVG in `docs/bench/<slug>.{md,svg}`. Charts are drawn by
 * Vega-Lite (compiled to Vega, rendered to SVG headless in Node), so each is a few lines of spec
 * rather than drawing code.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { printTable, type Row } from './table';

/** How a table becomes a chart: one bar per row and value column. */
export interface Chart {
  /** Numeric column(s) drawn as bars; rows where the value is not a number are left out. */
  readonly values: readonly string[];
  /** Columns whose values, joined, name a bar. */
  readonly label: readonly string[];
  /** Column whose values colour the bars (e.g. the system), or the value columns when there are several. */
  readonly colour?: string;
  /** Axis title. Default: the value column. */
  readonly axis?: string;
  /** A log scale, for values far apart (an index against a scan). Default linear. */
  readonly log?: boolean;
}

const OUT_DIR = fileURLToPath(new URL('../docs/bench/', import.meta.url));
const README = fileURLToPath(new URL('../README.md', import.meta.url));

function markdown(title: string, rows: readonly Row[]): string {
  const columns = Object.keys(rows[0] ?? {});
  const cell = (value: string | number | undefined): string =>
    typeof value === 'number' ? value.toLocaleString('en-US', { maximumFractionDigits: 2 }) : String(value ?? '').replaceAll('|', '\\|');
  return [
    `**${title}**`,
    '',
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${columns.map((column) => cell(row[column])).join(' | ')} |`),
    '',
  ].join('\n');
}

async function svg(title: string, rows: readonly Row[], chart: Chart): Promise<string> {
  const vega = await import('vega');
  const vegaLite = await import('vega-lite');
  const points = rows.flatMap((row) =>
    chart.values.flatMap((column) => {
      const value = row[column];
      if (typeof value !== 'number' || !Number.isFinite(value) || (chart.log && value <= 0)) return [];
      const label = chart.label.map((name) => String(row[name])).join(' · ');
      const series = chart.values.length > 1 ? column : chart.colour ? String(row[chart.colour]) : '';
      return [{ label, series, value }];
    }),
  );
  const floor = 10 ** Math.floor(Math.log10(Math.min(...points.map((point) => point.value), 10)));
  const colour = chart.values.length > 1 || chart.colour ? { color: { field: 'series', type: 'nominal', title: null } } : {};
  const spec = vegaLite.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, fontSize: 12, anchor: 'start', limit: 720 },
    width: 520,
    data: { values: points },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: 'label', type: 'nominal', title: null, sort: null, axis: { labelLimit: 320 } },
      ...(chart.values.length > 1 || chart.colour ? { yOffset: { field: 'series', type: 'nominal' } } : {}),
      x: { field: 'value', type: 'quantitative', title: chart.axis ?? chart.values[0], ...(chart.log ? { scale: { type: 'log', domainMin: floor } } : {}) },
      // On a log scale a bar cannot start at 0: it starts at the power of ten below the smallest value.
      ...(chart.log ? { x2: { datum: floor } } : {}),
      ...colour,
    },
    config: { font: 'sans-serif', background: 'white' },
  } as Parameters<typeof vegaLite.compile>[0]).spec;
  return new vega.View(vega.parse(spec), { renderer: 'none' }).toSVG();
}

/**
 * README keeps each benchmark's latest figures between `<!-- bench:<slug> -->` and
 * `<!-- /bench:<slug> -->`, so the text around them is written once and the numbers are never
 * copied by hand. A README without the markers for a slug is left alone.
 */
export function refreshReadme(slug: string): boolean {
  const open = `<!-- bench:${slug} -->`;
  const close = `<!-- /bench:${slug} -->`;
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf(open);
  const end = text.indexOf(close, start);
  if (start < 0 || end < 0 || !existsSync(`${OUT_DIR}${slug}.md`)) return false;
  const chart = existsSync(`${OUT_DIR}${slug}.svg`) ? `![${slug} chart](docs/bench/${slug}.svg)\n\n` : '';
  const body = `${chart}${readFileSync(`${OUT_DIR}${slug}.md`, 'utf8').trim()}`;
  writeFileSync(README, `${text.slice(0, start + open.length)}\n${body}\n${text.slice(end)}`);
  return true;
}

/**
 * Prints the table and writes `docs/bench/<slug>.md` (the table and when and under what load it
 * was measured) and, with a chart, `docs/bench/<slug>.svg`; then README's section for the slug.
 */
export async function report(slug: string, title: string, rows: readonly Row[], chart?: Chart): Promise<void> {
  printTable(title, rows);
  mkdirSync(OUT_DIR, { recursive: true });
  const stamp = `<sub>Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} when it ended.</sub>`;
  writeFileSync(`${OUT_DIR}${slug}.md`, `${markdown(title, rows)}\n${stamp}\n`);
  if (chart) writeFileSync(`${OUT_DIR}${slug}.svg`, await svg(title, rows, chart));
  refreshReadme(slug);
}
