import { existsSync, readFileSync } from 'node:fs';
import type { z } from 'zod';

/** A configuration that cannot start: one line per problem, each naming the file (or the environment) and the field. */
export class ConfigError extends Error {
  readonly lines: string[];
  constructor(lines: string | string[]) {
    const all = typeof lines === 'string' ? [lines] : lines;
    super(all.join('\n'));
    this.lines = all;
  }
}

/** Collects every problem of a configuration, so that one start reports them all. */
export class Problems {
  readonly lines: string[] = [];
  add(line: string): void {
    this.lines.push(line);
  }
  get count(): number {
    return this.lines.length;
  }
  /** Throws the problems found so far, if any. */
  throwIfAny(): void {
    if (this.lines.length > 0) throw new ConfigError(this.lines);
  }
}

export function formatPath(p: PropertyKey[]): string {
  return p.map(String).join('.') || '(root)';
}

/** The field an issue is about; for a misspelt or unknown key, that key itself rather than its object. */
export function issueField(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) return formatPath([...issue.path, issue.keys[0]!]);
  return formatPath(issue.path);
}

/** Every issue of a failed parse, one line each: `<file>: field "<path>": <message>` (after `prefix`). */
export function addIssues(problems: Problems, prefix: string, error: z.ZodError): void {
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys' && issue.keys.length > 1) {
      for (const key of issue.keys) problems.add(`${prefix}: field "${formatPath([...issue.path, key])}": ${issue.message}`);
    } else {
      problems.add(`${prefix}: field "${issueField(issue)}": ${issue.message}`);
    }
  }
}

/** A JSON file's content, or undefined with the problem recorded (missing, or not JSON). */
export function readJson(file: string, problems: Problems): { value: unknown } | undefined {
  if (!existsSync(file)) {
    problems.add(`${file}: file not found`);
    return undefined;
  }
  try {
    return { value: JSON.parse(readFileSync(file, 'utf8')) };
  } catch (e) {
    problems.add(`${file}: not valid JSON (${(e as Error).message})`);
    return undefined;
  }
}

/**
 * `${NAME}` in the strings of a value, for the few values known only at start (the demo portal's
 * URL, the ISSUER environment variable); any other placeholder is reported through `unknown` and
 * left as written.
 */
export function expandPlaceholders(
  value: unknown,
  vars: Record<string, string>,
  unknown: (name: string, field: string) => void,
  at: PropertyKey[] = [],
): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z_]+)\}/g, (whole, name: string) => {
      const known = vars[name];
      if (known !== undefined) return known;
      unknown(name, formatPath(at));
      return whole;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandPlaceholders(v, vars, unknown, [...at, i]));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandPlaceholders(v, vars, unknown, [...at, k])]));
  return value;
}

export function unknownPlaceholder(name: string, vars: Record<string, string>): string {
  return `unknown placeholder \${${name}} (known: ${Object.keys(vars)
    .map((v) => `\${${v}}`)
    .join(', ')})`;
}
