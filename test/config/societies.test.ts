import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigError, loadConfig } from '../../src/config/index.js';

/**
 * Issue 19, first slice: the societies' configuration. A folder per society under
 * config/societies/<id>/ (society.json, clients.json, terms/), loaded and validated at start with
 * every problem on its own line naming the file (hence the society) and the field; the layout before
 * societies (config/union.json + clients.json) still loads, as one society.
 */
describe('societies read at start', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kosmo-societies-'));
    cpSync('config', dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const env = (extra: Record<string, string> = {}) => ({ CONFIG_DIR: dir, DATA_DIR: path.join(dir, 'data'), ...extra });
  const file = (society: string, name: string) => path.join(dir, 'societies', society, name);
  const read = (society: string, name: string) => JSON.parse(readFileSync(file(society, name), 'utf8'));
  const write = (society: string, name: string, value: unknown) => writeFileSync(file(society, name), JSON.stringify(value));
  /** Changes one field of a society's society.json. */
  const editSociety = (society: string, change: (s: Record<string, unknown>) => void) => {
    const json = read(society, 'society.json');
    change(json);
    write(society, 'society.json', json);
  };
  /** Changes a society's first client. */
  const editClient = (society: string, change: (c: Record<string, unknown>) => void) => {
    const clients = read(society, 'clients.json');
    change(clients[0]);
    write(society, 'clients.json', clients);
  };

  function linesOf(fn: () => unknown): string[] {
    try {
      fn();
    } catch (err) {
      if (err instanceof ConfigError) {
        expect(err.message).toBe(err.lines.join('\n'));
        return err.lines;
      }
      throw err;
    }
    throw new Error('no ConfigError');
  }

  /** The one problem of a configuration, which must have exactly one. */
  const onlyLine = (fn: () => unknown) => {
    const lines = linesOf(fn);
    expect(lines).toHaveLength(1);
    return lines[0]!;
  };

  it("loads this repository's two demo societies in id order, the first being the default", () => {
    const config = loadConfig(env());
    expect(config.societies.map((s) => [s.id, s.issuer])).toEqual([
      ['kosmo', 'http://localhost:3000/kosmo'],
      ['sakura', 'http://localhost:3000/sakura'],
    ]);
    const [kosmo, sakura] = config.societies;
    // The rest of the application reads the default society through the fields it always read.
    expect(config.society).toBe(kosmo);
    expect(config.issuer).toBe(kosmo!.issuer);
    expect(config.union).toBe(kosmo!.policy);
    expect(config.clients).toBe(kosmo!.clients);
    expect(config.terms).toBe(kosmo!.terms);
    expect(config.union.name.ja).toBe('コスモ健康保険組合');

    expect(sakura!.policy.name).toEqual({ ja: 'さくら健康保険組合', en: 'Sakura Health Insurance Society' });
    expect(sakura!.look).toEqual({
      headerName: { ja: 'さくら健康保険組合', en: 'Sakura Health Insurance Society' },
      logo: file('sakura', 'logo.svg'),
      accentColor: '#c2185b',
    });
    expect(sakura!.terms.text.ja).toContain('さくら健康保険組合');
    expect(sakura!.terms.text.en).toContain('Sakura Health Insurance Society');
    expect(sakura!.terms.text.ja).not.toBe(kosmo!.terms.text.ja);
    // ${DEMO_PORTAL_URL} is each society's own demo portal: kosmo at DEMO_PORTAL_PORT, sakura at the next port.
    expect(kosmo!.clients.map((c) => [c.client_id, c.redirect_uris])).toEqual([['kosmo-demo-portal', ['http://localhost:3001/callback']]]);
    // sakura's demo portal is the FAPI 2.0 example: its key at its own /jwks.
    expect(
      sakura!.clients.map((c) => [
        c.client_id,
        c.redirect_uris,
        c.post_logout_redirect_uris,
        c.initiate_login_uri,
        c.profile,
        c.token_endpoint_auth_method,
        c.jwks_uri,
      ]),
    ).toEqual([
      [
        'sakura-demo-portal',
        ['http://localhost:3002/callback'],
        ['http://localhost:3002/'],
        'http://localhost:3002/login',
        'fapi2',
        'private_key_jwt',
        'http://localhost:3002/jwks',
      ],
    ]);
  });

  it('follows ISSUER in ${ISSUER}, and SOCIETY_ID chooses the default society', () => {
    const config = loadConfig(env({ ISSUER: 'https://id.example.jp/', SOCIETY_ID: 'sakura' }));
    expect(config.societies.map((s) => s.issuer)).toEqual(['https://id.example.jp/kosmo', 'https://id.example.jp/sakura']);
    expect(config.society.id).toBe('sakura');
    expect(config.issuer).toBe('https://id.example.jp/sakura');
    expect(config.clients.map((c) => c.client_id)).toEqual(['sakura-demo-portal']);
    expect(config.terms.version).toBe('2026-04-01');
    expect(onlyLine(() => loadConfig(env({ SOCIETY_ID: 'hinode' })))).toBe(
      `environment: SOCIETY_ID: no society "hinode" in ${path.join(dir, 'societies')} (configured: kosmo, sakura)`,
    );
    expect(onlyLine(() => loadConfig(env({ SOCIETY_ID: 'Sakura' })))).toMatch(/^environment: SOCIETY_ID: a society id: /);
  });

  it('accepts both forms of issuer: a path and a host', () => {
    editSociety('kosmo', (s) => {
      s.issuer = 'https://id.example.jp/kosmo/';
    });
    editSociety('sakura', (s) => {
      s.issuer = 'https://Sakura.ID.example.jp';
    });
    expect(loadConfig(env()).societies.map((s) => s.issuer)).toEqual(['https://id.example.jp/kosmo', 'https://sakura.id.example.jp']);
  });

  it('reports every problem of every society at once, one line each naming the file and the field', () => {
    editSociety('kosmo', (s) => {
      (s.lockout as Record<string, unknown>).maxFailures = 0;
      (s.ttl as Record<string, unknown>).sessionSeconds = 'long';
    });
    editSociety('sakura', (s) => {
      (s.look as Record<string, unknown>).accentColor = 'pink';
      s.colour = '#ffffff';
    });
    editClient('sakura', (c) => {
      c.redirect_uris = ['not a url'];
    });
    const lines = linesOf(() => loadConfig(env()));
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^${escapeRegExp(file('kosmo', 'society.json'))}: field "lockout\\.maxFailures": \\S`)),
      expect.stringMatching(new RegExp(`^${escapeRegExp(file('kosmo', 'society.json'))}: field "ttl\\.sessionSeconds": \\S`)),
      expect.stringMatching(new RegExp(`^${escapeRegExp(file('sakura', 'society.json'))}: field "look\\.accentColor": a colour written #rrggbb`)),
      expect.stringMatching(new RegExp(`^${escapeRegExp(file('sakura', 'society.json'))}: field "colour": \\S`)),
      expect.stringMatching(new RegExp(`^${escapeRegExp(file('sakura', 'clients.json'))}: client "sakura-demo-portal": field "redirect_uris\\.0": \\S`)),
    ]);
  });

  it('prints one line per problem when `npm start` stops, and no stack trace', async () => {
    editSociety('kosmo', (s) => {
      (s.lockout as Record<string, unknown>).maxFailures = 0;
    });
    editSociety('sakura', (s) => {
      (s.look as Record<string, unknown>).logo = 'missing.svg';
    });
    const result = await promisify(execFile)(path.resolve('node_modules/.bin/tsx'), ['src/main.ts'], {
      env: { ...process.env, ...env(), NODE_OPTIONS: '' },
    }).catch((e) => e as { code: number; stderr: string });
    expect((result as { code: number }).code).toBe(78);
    expect((result as { stderr: string }).stderr.trim().split('\n')).toEqual([
      `kosmo-idp: configuration error: ${file('kosmo', 'society.json')}: field "lockout.maxFailures": Too small: expected number to be >=1`,
      `kosmo-idp: configuration error: ${file('sakura', 'society.json')}: field "look.logo": ${file('sakura', 'missing.svg')} not found`,
    ]);
  });

  it('refuses two societies with one issuer, naming the second', () => {
    editSociety('sakura', (s) => {
      s.issuer = 'HTTP://LOCALHOST:3000/kosmo/';
    });
    expect(onlyLine(() => loadConfig(env()))).toBe(
      `${file('sakura', 'society.json')}: field "issuer": http://localhost:3000/kosmo is already the issuer of society "kosmo"`,
    );
  });

  it.each([
    ['a relative URL', '/sakura', '"/sakura" is not an absolute URL'],
    ['another scheme', 'ftp://id.example.jp/sakura', '"ftp://id.example.jp/sakura" must be an http:// or https:// URL'],
    ['a query', 'https://id.example.jp/sakura?x=1', '"https://id.example.jp/sakura?x=1" must have no query or fragment'],
    ['a fragment', 'https://id.example.jp/sakura#top', '"https://id.example.jp/sakura#top" must have no query or fragment'],
    ['credentials', 'https://u:p@id.example.jp/sakura', '"https://u:p@id.example.jp/sakura" must carry no user name or password'],
    ['an unknown placeholder', '${HOST}/sakura', 'unknown placeholder ${HOST} (known: ${ISSUER})'],
  ])('refuses an issuer with %s', (_what, issuer, message) => {
    editSociety('sakura', (s) => {
      s.issuer = issuer;
    });
    expect(onlyLine(() => loadConfig(env()))).toBe(`${file('sakura', 'society.json')}: field "issuer": ${message}`);
  });

  it('refuses an http issuer in production, and says when ${ISSUER} fell back to localhost', () => {
    const jwks = path.join(dir, 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd', kid: 'k1' }] }));
    // JWKS_FILE signs for the default society; another brings its own keys in production.
    writeFileSync(file('sakura', 'jwks.json'), JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd', kid: 's1' }] }));
    const production = {
      NODE_ENV: 'production',
      COOKIE_KEYS: 'k'.repeat(40),
      SECRETS_KEY: Buffer.alloc(32, 1).toString('base64'),
      JWKS_FILE: jwks,
      DATABASE_URL: 'postgres://u:p@db/kosmo',
      MIGRATION_DATABASE_URL: 'postgres://o:p@db/kosmo',
      SMTP_URL: 'smtp://mail:25',
    };
    expect(loadConfig(env({ ...production, ISSUER: 'https://id.example.jp' })).societies.map((s) => s.issuer)).toEqual([
      'https://id.example.jp/kosmo',
      'https://id.example.jp/sakura',
    ]);
    expect(linesOf(() => loadConfig(env(production)))).toEqual([
      `${file('kosmo', 'society.json')}: field "issuer": must be https:// in production (it uses \${ISSUER}, and ISSUER is not set: http://localhost:$PORT)`,
      `${file('sakura', 'society.json')}: field "issuer": must be https:// in production (it uses \${ISSUER}, and ISSUER is not set: http://localhost:$PORT)`,
    ]);
    editSociety('sakura', (s) => {
      s.issuer = 'http://sakura.id.example.jp';
    });
    expect(onlyLine(() => loadConfig(env({ ...production, ISSUER: 'https://id.example.jp' })))).toBe(
      `${file('sakura', 'society.json')}: field "issuer": must be https:// in production`,
    );
    editSociety('sakura', (s) => {
      s.issuer = 'https://sakura.id.example.jp';
    });
    // Without its own keys, a society other than the default one would sign with development keys.
    rmSync(file('sakura', 'jwks.json'));
    expect(onlyLine(() => loadConfig(env({ ...production, ISSUER: 'https://id.example.jp' })))).toBe(
      'NODE_ENV=production refuses development defaults; set SIGNING_KEYS=database (keys kept encrypted in the database, rotated with `keys rotate`), or JWKS_FILE or config/societies/<id>/jwks.json, for sakura',
    );
  });

  it('refuses a redirect URI or a post-logout redirect URI registered for two societies', () => {
    editClient('sakura', (c) => {
      c.redirect_uris = ['https://portal.sakura.example.jp/callback', '${DEMO_PORTAL_URL}/callback'];
      c.post_logout_redirect_uris = ['http://localhost:3001/'];
    });
    editClient('kosmo', (c) => {
      c.redirect_uris = ['${DEMO_PORTAL_URL}/callback', 'http://localhost:3002/callback'];
    });
    expect(linesOf(() => loadConfig(env()))).toEqual([
      `${file('sakura', 'clients.json')}: client "sakura-demo-portal": field "redirect_uris.1": http://localhost:3002/callback is already registered for society "kosmo" (client "kosmo-demo-portal")`,
      `${file('sakura', 'clients.json')}: client "sakura-demo-portal": field "post_logout_redirect_uris.0": http://localhost:3001/ is already registered for society "kosmo" (client "kosmo-demo-portal")`,
    ]);
  });

  it('lets two societies each have a client of the same client_id, but not one society twice', () => {
    editClient('sakura', (c) => {
      c.client_id = 'kosmo-demo-portal';
    });
    const config = loadConfig(env());
    expect(config.societies.map((s) => s.clients.map((c) => c.client_id))).toEqual([['kosmo-demo-portal'], ['kosmo-demo-portal']]);

    const sakura = read('sakura', 'clients.json');
    write('sakura', 'clients.json', [...sakura, { ...sakura[0], redirect_uris: ['https://portal.sakura.example.jp/callback'], post_logout_redirect_uris: [] }]);
    expect(onlyLine(() => loadConfig(env()))).toBe(`${file('sakura', 'clients.json')}: client "kosmo-demo-portal": field "client_id": duplicate client id`);
  });

  it.each([
    ['a missing file', 'sakura.svg', (d: string) => `${path.join(d, 'societies', 'sakura', 'sakura.svg')} not found`],
    ['a path out of the folder', '../kosmo/terms/ja.txt', () => `"../kosmo/terms/ja.txt" must be static/<file> or a path inside the society's folder`],
    ['an absolute path', '/etc/hostname.svg', () => `"/etc/hostname.svg" must be static/<file> or a path inside the society's folder`],
    ['another kind of file', 'terms/ja.txt', () => '"terms/ja.txt" must be an .svg or .png image'],
    ['a file not in static/', 'static/sakura.svg', () => `${path.resolve('static', 'sakura.svg')} not found`],
    ['a file deeper in static/', 'static/logos/sakura.svg', () => '"static/logos/sakura.svg" must be a file directly in static/ (only those are served)'],
  ])('refuses a logo that is %s', (_what, logo, message) => {
    editSociety('sakura', (s) => {
      (s.look as Record<string, unknown>).logo = logo;
    });
    expect(onlyLine(() => loadConfig(env()))).toBe(`${file('sakura', 'society.json')}: field "look.logo": ${message(dir)}`);
  });

  it('takes a logo from static/ or from a subfolder of the society, and an accent colour in either case', () => {
    mkdirSync(file('kosmo', 'images'));
    cpSync(file('sakura', 'logo.svg'), file('kosmo', 'images/kosmo.svg'));
    editSociety('kosmo', (s) => {
      s.look = { headerName: { ja: 'コスモ', en: 'KOSMO' }, logo: 'images/kosmo.svg', accentColor: '#0A5FB4' };
    });
    editSociety('sakura', (s) => {
      (s.look as Record<string, unknown>).logo = 'static/favicon.svg';
    });
    const [kosmo, sakura] = loadConfig(env()).societies;
    expect(kosmo!.look).toEqual({ headerName: { ja: 'コスモ', en: 'KOSMO' }, logo: file('kosmo', 'images/kosmo.svg'), accentColor: '#0a5fb4' });
    expect(sakura!.look.logo).toBe(path.resolve('static', 'favicon.svg'));
  });

  it.each(['#abc', 'c2185b', '#c2185bff', 'pink'])('refuses the accent colour %s', (colour) => {
    editSociety('sakura', (s) => {
      (s.look as Record<string, unknown>).accentColor = colour;
    });
    expect(onlyLine(() => loadConfig(env()))).toBe(`${file('sakura', 'society.json')}: field "look.accentColor": a colour written #rrggbb`);
  });

  it("refuses a society without a look, a folder that is not a society id, and a society's missing files", () => {
    editSociety('kosmo', (s) => {
      delete s.look;
    });
    mkdirSync(path.join(dir, 'societies', 'Hinode_Kenpo'));
    rmSync(file('sakura', 'terms/en.txt'));
    rmSync(file('sakura', 'clients.json'));
    expect(linesOf(() => loadConfig(env()))).toEqual([
      `${path.join(dir, 'societies', 'Hinode_Kenpo')}: the folder's name is not a society id (a lowercase letter, then 1 to 30 lowercase letters, digits or hyphens)`,
      expect.stringMatching(new RegExp(`^${escapeRegExp(file('kosmo', 'society.json'))}: field "look": \\S`)),
      `${file('sakura', 'society.json')}: field "terms.files.en": ${file('sakura', 'terms/en.txt')} not found`,
      `${file('sakura', 'clients.json')}: file not found`,
    ]);
  });

  it('refuses an empty societies folder, and the single-society files left beside it', () => {
    cpSync(file('kosmo', 'society.json'), path.join(dir, 'union.json'));
    expect(onlyLine(() => loadConfig(env()))).toBe(
      `${path.join(dir, 'union.json')}: not read beside ${path.join(dir, 'societies')}: move it into a society's folder (societies/<id>/) or remove it`,
    );
    rmSync(path.join(dir, 'union.json'));
    rmSync(path.join(dir, 'societies'), { recursive: true });
    mkdirSync(path.join(dir, 'societies'));
    expect(onlyLine(() => loadConfig(env()))).toBe(
      `${path.join(dir, 'societies')}: no society: add a folder societies/<id>/ with society.json, clients.json and terms/`,
    );
    rmSync(path.join(dir, 'societies'), { recursive: true });
    expect(onlyLine(() => loadConfig(env()))).toMatch(new RegExp(`^${escapeRegExp(path.join(dir, 'societies'))}: not found: a folder per society`));
  });

  describe('the layout before societies (config/union.json, clients.json, terms/)', () => {
    /** This repository's config as it was laid out before societies. */
    beforeEach(() => {
      const kosmo = path.join(dir, 'societies', 'kosmo');
      const { issuer: _issuer, look: _look, ...union } = read('kosmo', 'society.json');
      writeFileSync(path.join(dir, 'union.json'), JSON.stringify(union));
      renameSync(path.join(kosmo, 'clients.json'), path.join(dir, 'clients.json'));
      renameSync(path.join(kosmo, 'terms'), path.join(dir, 'terms'));
      rmSync(path.join(dir, 'societies'), { recursive: true });
    });

    it('loads as one society, kosmo unless SOCIETY_ID says otherwise, whose issuer is ISSUER', () => {
      const config = loadConfig(env({ ISSUER: 'http://localhost:4100/' }));
      expect(config.societies).toHaveLength(1);
      const [society] = config.societies;
      expect(society!.id).toBe('kosmo');
      expect(society!.dir).toBe(dir);
      expect(society!.issuer).toBe('http://localhost:4100');
      expect(society!.look).toEqual({ headerName: { ja: 'コスモ健康保険組合', en: 'KOSMO Health Insurance Society' } });
      expect(society!.terms.version).toBe('2025-10-01');
      expect(society!.terms.text.ja).toBe(readFileSync('config/societies/kosmo/terms/ja.txt', 'utf8'));
      expect(society!.clients.map((c) => [c.client_id, c.redirect_uris])).toEqual([['kosmo-demo-portal', ['http://localhost:3001/callback']]]);
      expect(config.society).toBe(society);
      expect(config.issuer).toBe('http://localhost:4100');
      expect(config.union).toBe(society!.policy);
      expect(config.clients).toBe(society!.clients);

      expect(loadConfig(env()).issuer).toBe('http://localhost:3000');
      expect(loadConfig(env({ SOCIETY_ID: 'hinode-kenpo' })).societies.map((s) => s.id)).toEqual(['hinode-kenpo']);
    });

    it('reports its problems by file and field, all at once', () => {
      const union = JSON.parse(readFileSync(path.join(dir, 'union.json'), 'utf8'));
      writeFileSync(path.join(dir, 'union.json'), JSON.stringify({ ...union, lockout: { ...union.lockout, maxFailures: 0 } }));
      const clients = JSON.parse(readFileSync(path.join(dir, 'clients.json'), 'utf8'));
      writeFileSync(path.join(dir, 'clients.json'), JSON.stringify([...clients, clients[0]]));
      expect(linesOf(() => loadConfig(env()))).toEqual([
        expect.stringMatching(new RegExp(`^${escapeRegExp(path.join(dir, 'union.json'))}: field "lockout\\.maxFailures": \\S`)),
        `${path.join(dir, 'clients.json')}: client "kosmo-demo-portal": field "client_id": duplicate client id`,
      ]);
      expect(onlyLine(() => loadConfig(env({ NODE_ENV: 'production', ISSUER: 'http://idp.example.jp' })))).toBe(
        'environment: ISSUER: must be https:// in production',
      );
    });
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
