// The one percent formatter and markdown table of every report: the CLI's
// evaluation tables and the generated docs (experiments/, bench/) use these,
// so a figure reads the same everywhere.

export interface PercentOptions {
  /** Digits after the point (default 2). */
  digits?: number;
  /** Pad to this many characters (the number alone, before any unit). */
  width?: number;
  /** A leading + or − (U+2212): for differences. */
  sign?: boolean;
  /** Append "%". */
  unit?: boolean;
  /** What a missing value (NaN, ±Infinity) prints as (default "—"). */
  missing?: string;
}

/** A fraction as percent: 0.1234 -> "12.34". */
export function percent(fraction: number, options: PercentOptions = {}): string {
  const { digits = 2, width = 0, sign = false, unit = false, missing = '—' } = options;
  if (!Number.isFinite(fraction)) return missing.padStart(width);
  const magnitude = (100 * Math.abs(fraction)).toFixed(digits);
  // -0.001 at 2 digits prints as 0.00: no sign on a zero.
  const negative = fraction < 0 && Number(magnitude) !== 0;
  const text = sign ? `${negative ? '−' : '+'}${magnitude}` : `${negative ? '-' : ''}${magnitude}`;
  return `${text.padStart(width)}${unit ? '%' : ''}`;
}

/** A percent in the CLI's evaluation tables: fixed width, with the unit, "n/a" when missing. */
export const tablePercent = (fraction: number): string => percent(fraction, { width: 6, unit: true, missing: 'n/a' });

/** A markdown table: the header row, its separator, then one line per row. */
export function markdownTable(header: string[], rows: (string | number)[][]): string[] {
  for (const row of rows) {
    if (row.length !== header.length) throw new Error(`a table row has ${row.length} cells for ${header.length} columns: ${row.join(' | ')}`);
  }
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)];
}
