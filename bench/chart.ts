/**
 * A grouped horizontal bar chart as hand-written SVG (no dependency): one group per model,
 * one bar per runtime, and one panel per metric side by side (e.g. steady median and cold
 * start). Bars are scaled per group and panel, so a fast and a slow model both stay readable;
 * every bar carries its value as text, and a missing value shows its note instead.
 *
 * @example
 * ```ts
 * const svg = renderBarChart({
 *   title: "ResNet inference",
 *   notes: ["AMD EPYC, 2 cores"],
 *   panels: ["steady median (ms)", "cold start (ms)"],
 *   groups: [{ label: "resnet18", bars: [{ label: "resin gpu", values: [120, 900] }] }],
 * });
 * ```
 *
 * @module
 */

import { fmt } from "./table.ts";

/** One bar row: a series (runtime) with one value per panel. */
export interface ChartBar {
  /** Series label, e.g. "resin gpu"; series keep their colour across groups. */
  label: string;
  /** One value per panel; `undefined` where there is none. */
  values: (number | undefined)[];
  /** Shown instead of a bar where a value is missing, e.g. "skipped: no int8 kernels". */
  note?: string;
}

/** One group of bars (a model). */
export interface ChartGroup {
  /** Group heading. */
  label: string;
  /** Its bars, in display order. */
  bars: ChartBar[];
}

/** A whole chart. */
export interface BarChart {
  /** Title line. */
  title: string;
  /** Smaller lines under the title (machine, versions, what the bars mean). */
  notes: string[];
  /** Panel headings, one per value of each bar. */
  panels: string[];
  /** The groups, top to bottom. */
  groups: ChartGroup[];
}

const WIDTH = 1000;
const MARGIN = 20;
const LABEL_WIDTH = 170;
const PANEL_GAP = 30;
const VALUE_WIDTH = 64;
const ROW = 18;
const BAR = 12;
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"];

/** Escapes text for SVG content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A `<text>` element at (x, y). */
function text(x: number, y: number, content: string, attrs = ""): string {
  return `<text x="${x}" y="${y}"${attrs ? ` ${attrs}` : ""}>${escapeXml(content)}</text>`;
}

/** Renders `chart` as a standalone SVG document. */
export function renderBarChart(chart: BarChart): string {
  for (const group of chart.groups) {
    for (const bar of group.bars) {
      if (bar.values.length !== chart.panels.length) {
        throw new Error(
          `Bar "${bar.label}" of "${group.label}" has ${bar.values.length} values for ` +
            `${chart.panels.length} panels`,
        );
      }
    }
  }
  const series = [...new Set(chart.groups.flatMap((g) => g.bars.map((b) => b.label)))];
  const panelWidth = (WIDTH - 2 * MARGIN - LABEL_WIDTH - PANEL_GAP * (chart.panels.length - 1)) /
    chart.panels.length;
  const panelX = (p: number) => MARGIN + LABEL_WIDTH + p * (panelWidth + PANEL_GAP);
  const parts: string[] = [];
  let y = MARGIN + 16;
  parts.push(text(MARGIN, y, chart.title, 'font-size="18" font-weight="bold"'));
  for (const note of chart.notes) {
    y += 16;
    parts.push(text(MARGIN, y, note, 'font-size="11" fill="#444"'));
  }
  y += 28;
  chart.panels.forEach((title, p) => {
    parts.push(text(panelX(p), y, title, 'font-size="13" font-weight="bold"'));
  });
  for (const group of chart.groups) {
    y += ROW + 8;
    parts.push(text(MARGIN, y, group.label, 'font-size="13" font-weight="bold"'));
    const maxima = chart.panels.map((_, p) =>
      Math.max(0, ...group.bars.map((b) => b.values[p] ?? 0))
    );
    for (const bar of group.bars) {
      y += ROW;
      const colour = PALETTE[series.indexOf(bar.label) % PALETTE.length];
      parts.push(text(MARGIN + 12, y, bar.label, 'font-size="12"'));
      bar.values.forEach((value, p) => {
        const x = panelX(p);
        if (value === undefined || !Number.isFinite(value) || maxima[p] <= 0) {
          const note = bar.note ?? "no value";
          parts.push(text(x, y, note, 'font-size="11" fill="#888" font-style="italic"'));
          return;
        }
        const length = Math.max(1, (value / maxima[p]) * (panelWidth - VALUE_WIDTH));
        parts.push(
          `<rect x="${x}" y="${y - BAR + 2}" width="${length.toFixed(1)}" height="${BAR}" ` +
            `fill="${colour}"/>`,
          text(x + length + 4, y, fmt(value), 'font-size="11"'),
        );
      });
    }
  }
  const height = y + MARGIN;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
    `viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}
