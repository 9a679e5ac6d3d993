import { describe, it, expect } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? sourceFiles(file) : file.endsWith('.ts') ? [file] : [];
  });
}

const importsOf = (file: string) => [...readFileSync(file, 'utf8').matchAll(/^import[^;]*?from '([^']+)'/gms)].map((m) => m[1]!);

describe('which way imports point (../shared/ARCHITECTURE.md)', () => {
  it('steps, factors, members and flow know nothing of HTTP: no Koa, no src/http', () => {
    const offending = ['src/steps', 'src/factors', 'src/members', 'src/flow'].flatMap(sourceFiles).flatMap((file) =>
      importsOf(file)
        .filter((i) => i === 'koa' || i.startsWith('@koa/') || /(^|\/)http\//.test(i))
        .map((i) => `${file} imports ${i}`),
    );
    expect(offending).toEqual([]);
  });

  it('src/http imports nothing from src/db: it calls named changes and queries in src/members (health checks and the development mailbox excepted)', () => {
    const excepted = (file: string) => file === 'src/http/health.ts' || file === 'src/http/dev/mailbox.ts';
    const dbDir = path.resolve('src/db');
    const offending = sourceFiles('src/http')
      .filter((file) => !excepted(file))
      .flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^;]*?from '([^']+)'|\bimport\(\s*'([^']+)'\s*\)/gms)]
          .map((m) => (m[1] ?? m[2])!)
          .filter((i) => i.startsWith('.') && `${path.resolve(path.dirname(file), i)}/`.startsWith(`${dbDir}/`))
          .map((i) => `${file} imports ${i}`),
      );
    expect(offending).toEqual([]);
  });

  it("a posted form's CSRF token is checked in one place, src/http/form.ts (postForm), before the form is parsed", () => {
    // test/http/every-form-csrf.test.ts posts to every POST route of the page routers without a token.
    const checkers = sourceFiles('src').filter((file) => /\.csrfValid\(/.test(readFileSync(file, 'utf8')));
    expect(checkers).toEqual(['src/http/form.ts']);
  });

  it('one query per rule: only src/members/taken.ts asks whether a user ID or an address is taken', () => {
    const takenQuery = /select 1 from member where (user_id|email) = /;
    const askers = sourceFiles('src').filter((file) => takenQuery.test(readFileSync(file, 'utf8')));
    expect(askers).toEqual(['src/members/taken.ts']);
  });

  it('only src/members/lockout-store.ts writes the lockout columns', () => {
    const sqlWrite = /update\s+(member|login_lockout)\s+set[^`']*?\b(failed_logins|lock_count|locked_until|locked_permanently)\s*=/;
    const entityWrite = /\.(failedLogins|lockCount|lockedUntil|lockedPermanently)\s*=[^=]/;
    const writers = sourceFiles('src').filter((file) => sqlWrite.test(readFileSync(file, 'utf8')) || entityWrite.test(readFileSync(file, 'utf8')));
    expect(writers).toEqual(['src/members/lockout-store.ts']);
  });

  it("the flow alone counts a failed proof: one call site records a member's login failure (src/flow/attempt.ts)", () => {
    const calls = sourceFiles('src')
      .filter((file) => file !== 'src/members/lockout-store.ts')
      .flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/\b(withMemberAttempt|registerMemberFailure|registerUnknownIdFailure)\(/g)].map((m) => `${file} ${m[1]}`),
      );
    // The unknown-ID counters (no member to lock) are the password's phantom lockout, counted beside it.
    expect(calls).toEqual(['src/flow/attempt.ts withMemberAttempt', 'src/flow/attempt.ts registerUnknownIdFailure']);
  });

  it('the login pages parse, call the flow and render: src/http/interaction imports nothing from src/db', () => {
    const offending = [...sourceFiles('src/http/interaction'), 'src/http/host.ts'].flatMap((file) =>
      importsOf(file)
        .filter((i) => /(^|\/)db\//.test(i))
        .map((i) => `${file} imports ${i}`),
    );
    expect(offending).toEqual([]);
  });

  it("the login's routes are declared one by one, each path written out (none built in a loop)", () => {
    const routes = readFileSync('src/http/interaction/routes.ts', 'utf8');
    expect(routes).not.toMatch(/for\s*\(/);
    const paths = [...routes.matchAll(/router\.(get|post)\(([^,]+),/g)].map((m) => m[2]!.trim());
    expect(paths).toContain("'/factor/recovery-code'");
    expect(paths.filter((p) => !/^'[^'$`]*'$/.test(p))).toEqual([]);
  });

  it('factors, steps and the flow reach the database only through their ports (src/flow/ports.ts): nothing from src/db but `import type` of entities', () => {
    const dbDir = path.resolve('src/db');
    const entitiesDir = path.resolve('src/db/entities');
    const offending = ['src/factors', 'src/steps', 'src/flow'].flatMap(sourceFiles).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/^(import|export)(\s+type)?\b[^;]*?from\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/gms)]
        .map((m) => ({ statement: m[0]!, typeOnly: m[1] === 'import' && Boolean(m[2]), target: (m[3] ?? m[4])! }))
        .filter(({ target }) => target.startsWith('.') && `${path.resolve(path.dirname(file), target)}/`.startsWith(`${dbDir}/`))
        .filter(({ target, typeOnly }) => !(typeOnly && `${path.resolve(path.dirname(file), target)}/`.startsWith(`${entitiesDir}/`)))
        .map(({ statement }) => `${file}: ${statement.replace(/\s+/g, ' ')}`),
    );
    expect(offending).toEqual([]);
  });

  it('transactions are opened by named changes (src/members/changes) and the unit of work (src/db); the admin CLI, the factors and the steps open none', () => {
    const opensTransaction = /\binTransaction\(|\.transaction\(|\.transactional\(/;
    const openers = sourceFiles('src').filter((file) => opensTransaction.test(readFileSync(file, 'utf8')));
    const elsewhere = openers.filter((file) => !file.startsWith('src/db/') && !file.startsWith('src/members/changes/'));
    // The other legitimate ones, each a transaction that is not a member's change:
    expect(elsewhere.sort()).toEqual([
      // the development mailbox keeps each mail it receives
      'src/mail/dev-smtp-server.ts',
      // seeds the demo members into an empty development database at start
      'src/members/demo-seed.ts',
      // a proof under the member's row lock (withMemberAttempt) and the counters of unknown user IDs: the flow's attempt
      'src/members/lockout-store.ts',
      // the provider's own signing keys, created once and sealed again by `secrets rotate` under an advisory lock
      'src/oidc/keys.ts',
    ]);
    expect(openers.filter((file) => /^src\/(admin|http|factors|steps|flow)\//.test(file))).toEqual([]);
  });

  it('only src/members/credentials.ts writes the credential table through entities', () => {
    const writers = sourceFiles('src').filter((file) =>
      /em\.create\(Credential|em\.remove\(|nativeDelete\(Credential|insert into credential/.test(readFileSync(file, 'utf8')),
    );
    expect(writers).toEqual(['src/members/credentials.ts']);
  });
});
