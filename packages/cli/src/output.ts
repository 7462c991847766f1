/** Human output (short lines, aligned tables) or, with --json, the admin API's JSON as is. */
import type { CliIo } from './io.js';

export function printJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

/** Aligned columns; values are printed verbatim except control characters, which are escaped. */
export function table(rows: readonly object[], columns: readonly string[]): string {
  if (rows.length === 0) return '(none)\n';
  const cells = rows.map((row) => columns.map((column) => cell((row as Record<string, unknown>)[column])));
  const widths = columns.map((column, index) =>
    Math.max(column.length, ...cells.map((line) => line[index]!.length)),
  );
  const format = (line: readonly string[]) =>
    line
      .map((value, index) => value.padEnd(widths[index]!))
      .join('  ')
      .trimEnd();
  return `${[format(columns.map((column) => column.toUpperCase())), ...cells.map(format)].join('\n')}\n`;
}

function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  const text = Array.isArray(value) ? value.join(',') : String(value);
  // A hostile value must not move the cursor or clear the terminal.
  return escapeControl(text);
}

export function escapeControl(text: string): string {
  let escaped = '';
  for (const character of text) {
    const code = character.charCodeAt(0);
    escaped +=
      code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0)
        ? `\\u${code.toString(16).padStart(4, '0')}`
        : character;
  }
  return escaped;
}

/** `key: value` lines. */
export function fields(entries: readonly [string, unknown][]): string {
  const width = Math.max(...entries.map(([key]) => key.length));
  return `${entries.map(([key, value]) => `  ${`${key}:`.padEnd(width + 1)} ${cell(value)}`).join('\n')}\n`;
}
