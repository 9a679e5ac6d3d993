/** Timestamps as administrators read them: local time with its offset, to the second. */
export function formatTimestamp(value: Date | string | null | undefined, none = '-'): string {
  if (value === null || value === undefined) return none;
  const d = value instanceof Date ? value : new Date(value);
  const offsetMinutes = -d.getTimezoneOffset();
  const sign = offsetMinutes >= 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

const WIDE =
  /[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]/g;

/** Columns a string takes in a terminal: kana and kanji take two. */
export function displayWidth(text: string): number {
  return text.length + (text.match(WIDE)?.length ?? 0);
}

/** Label/value lines with the values aligned in one column. */
export function formatFields(fields: [label: string, value: string][]): string[] {
  const width = Math.max(...fields.map(([label]) => displayWidth(label)));
  return fields.map(([label, value]) => `${label}${' '.repeat(width - displayWidth(label))}  ${value}`);
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
