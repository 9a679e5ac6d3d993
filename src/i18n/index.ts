import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';

export const LOCALES = ['ja', 'en'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'ja';

type Tree = { [key: string]: string | Tree };

export interface Translator {
  locale: Locale;
  /** Looks up `screen.element` in the locale, falling back to Japanese, the source of truth. */
  t(key: string, vars?: Record<string, string | number>): string;
}

export class Messages {
  private readonly trees = new Map<Locale, Tree>();

  /** Loads `<dir>/ja.json` and `<dir>/en.json` (and any extra files given, merged in). */
  constructor(dir: string, extraDirs: string[] = []) {
    for (const locale of LOCALES) {
      const tree: Tree = {};
      for (const d of [dir, ...extraDirs]) {
        const file = path.join(d, `${locale}.json`);
        if (existsSync(file)) Object.assign(tree, JSON.parse(readFileSync(file, 'utf8')) as Tree);
      }
      this.trees.set(locale, tree);
    }
  }

  private lookup(locale: Locale, key: string): string | undefined {
    let node: string | Tree | undefined = this.trees.get(locale);
    for (const part of key.split('.')) {
      if (node === undefined || typeof node === 'string') return undefined;
      node = node[part];
    }
    return typeof node === 'string' ? node : undefined;
  }

  has(key: string): boolean {
    return this.lookup(DEFAULT_LOCALE, key) !== undefined;
  }

  translator(locale: Locale): Translator {
    return {
      locale,
      t: (key, vars) => {
        const text = this.lookup(locale, key) ?? this.lookup(DEFAULT_LOCALE, key);
        if (text === undefined) return key;
        return vars ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m)) : text;
      },
    };
  }
}

/** Picks the first supported locale from a space-separated `ui_locales` or an Accept-Language list. */
export function pickLocale(...candidates: (string | undefined | null)[]): Locale {
  for (const candidate of candidates) {
    if (!candidate) continue;
    for (const tag of candidate.split(/[\s,]+/)) {
      const base = tag.split(';')[0]!.trim().toLowerCase().split('-')[0];
      if ((LOCALES as readonly string[]).includes(base ?? '')) return base as Locale;
    }
  }
  return DEFAULT_LOCALE;
}

/** 2024年10月24日 15:59 / 24 October 2024 at 15:59, in Japan time (the union's members and the manual's screens). */
export function formatDateTime(locale: Locale, at: Date | string | number): string {
  const date = at instanceof Date ? at : new Date(at);
  if (Number.isNaN(date.getTime())) return '';
  return new Intl.DateTimeFormat(locale === 'ja' ? 'ja-JP' : 'en-GB', { timeZone: 'Asia/Tokyo', dateStyle: 'long', timeStyle: 'short' }).format(date);
}
