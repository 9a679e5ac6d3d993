import { describe, it, expect } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

type Tree = { [key: string]: string | Tree };
function keys(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([k, v]) => (typeof v === 'string' ? [`${prefix}${k}`] : keys(v, `${prefix}${k}.`)));
}
const load = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Tree;

describe('words live in locales/', () => {
  for (const dir of ['locales', 'locales/mail', 'locales/portal']) {
    it(`${dir}: English has exactly the keys of Japanese, the source of truth`, () => {
      expect(keys(load(path.join(dir, 'en.json'))).sort()).toEqual(keys(load(path.join(dir, 'ja.json'))).sort());
    });
  }

  it('every key a template asks for exists in Japanese', () => {
    const all = new Set([...keys(load('locales/ja.json')), ...keys(load('locales/mail/ja.json'))]);
    const missing: string[] = [];
    for (const file of readdirSync('views').filter((f) => f.endsWith('.njk'))) {
      const text = readFileSync(path.join('views', file), 'utf8');
      for (const m of text.matchAll(/\bt\('([a-z_]+\.[a-z_.]+)'\s*[,)]/g)) if (!all.has(m[1]!)) missing.push(`${file}: ${m[1]}`);
    }
    expect(missing).toEqual([]);
  });

  it('no template carries Japanese text of its own', () => {
    const offenders = readdirSync('views')
      .filter((f) => f.endsWith('.njk'))
      .filter((f) => /[\u3040-\u30ff\u4e00-\u9faf]/.test(readFileSync(path.join('views', f), 'utf8').replace(/\{#[\s\S]*?#\}/g, '')));
    expect(offenders).toEqual([]);
  });
});
