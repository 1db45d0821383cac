/**
 * Plain-text tables for benchmark reports: a header row, a rule, and right-aligned cells
 * (left-aligned for the first `textColumns` columns), in GitHub-flavoured markdown form so
 * that a report pastes into docs unchanged.
 *
 * @module
 */

/** Formats `rows` under `header` as a markdown table with padded columns. */
export function formatTable(header: string[], rows: string[][], textColumns = 1): string {
  for (const row of rows) {
    if (row.length !== header.length) {
      throw new Error(`Table row has ${row.length} cells, the header ${header.length}`);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${
      cells.map((cell, i) => i < textColumns ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))
        .join(" | ")
    } |`;
  const rule = `| ${
    widths.map((w, i) => i < textColumns ? "-".repeat(w) : `${"-".repeat(w - 1)}:`).join(" | ")
  } |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** `value` with `digits` significant digits for display; "-" when absent or not finite. */
export function fmt(value: number | undefined, digits = 3): string {
  if (value === undefined || !Number.isFinite(value)) return "-";
  if (value === 0) return "0";
  if (Math.abs(value) < 1e-3) return value.toExponential(1);
  return Math.abs(value) >= 10 ** digits ? value.toFixed(0) : value.toPrecision(digits);
}
