import { describe, it, expect, afterAll } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import Koa from 'koa';
import Keygrip from 'keygrip';
import { CookieKeys } from '../../src/http/cookie-keys.js';

/**
 * Koa's cookie keys (src/http/cookie-keys.ts): signatures as keygrip makes them, so the signed
 * cookies members' browsers already hold (the provider's session and interaction cookies) stay valid,
 * and a cookie signed with a previous key (COOKIE_KEYS rotated) is still accepted.
 */
describe('cookie keys', () => {
  const current = 'cookie-key-current-0123456789abcdef';
  const previous = 'cookie-key-previous-0123456789abcde';

  it('signs as keygrip does, and accepts what keygrip signed, with any of its keys', () => {
    const ours = new CookieKeys([current, previous]);
    const theirs = new Keygrip([current, previous]);
    for (const data of ['_session=abc', '_interaction=Zq-1_x.y', 'kosmo.lang=ja', '']) {
      expect(ours.sign(data)).toBe(theirs.sign(data));
      expect(ours.index(data, theirs.sign(data))).toBe(0);
      expect(ours.index(data, new Keygrip([previous]).sign(data))).toBe(1);
      expect(ours.verify(data, theirs.sign(data))).toBe(true);
    }
  });

  it('refuses a signature of other data, another key, another length, or none', () => {
    const ours = new CookieKeys([current, previous]);
    const good = ours.sign('_session=abc');
    expect(ours.index('_session=abd', good)).toBe(-1);
    expect(ours.index('_session=abc', new Keygrip(['someone-else']).sign('_session=abc'))).toBe(-1);
    expect(ours.index('_session=abc', good.slice(1))).toBe(-1);
    expect(ours.index('_session=abc', `${good}A`)).toBe(-1);
    expect(ours.index('_session=abc', '')).toBe(-1);
    expect(ours.index('_session=abc', undefined as unknown as string)).toBe(-1);
    expect(() => new CookieKeys([])).toThrow(/at least one/);
  });

  describe('in Koa, over HTTP', () => {
    const servers: Server[] = [];
    afterAll(async () => {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    });
    async function serve(keys: string[]): Promise<string> {
      const app = new Koa();
      app.keys = new CookieKeys(keys);
      app.use((ctx) => {
        if (ctx.path === '/set') ctx.cookies.set('member', 'kosmo0001', { signed: true });
        ctx.body = { member: ctx.cookies.get('member', { signed: true }) ?? null };
      });
      const server = createServer(app.callback());
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    }

    it('reads a cookie signed before the keys rotated, and not one signed with a key it no longer has', async () => {
      const before = await serve([previous]);
      const set = await fetch(`${before}/set`);
      const cookie = set.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      expect(cookie).toMatch(/member=kosmo0001; member\.sig=/);
      const rotated = await serve([current, previous]);
      expect(await (await fetch(rotated, { headers: { cookie } })).json()).toEqual({ member: 'kosmo0001' });
      const retired = await serve([current]);
      expect(await (await fetch(retired, { headers: { cookie } })).json()).toEqual({ member: null });
    });
  });
});
