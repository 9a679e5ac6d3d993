import { describe, it, expect } from '@jest/globals';
import { SocietyRoutes, issuerPlace } from '../../src/http/society-routing.js';

describe('which society a request is for', () => {
  const routes = new SocietyRoutes([
    { issuer: 'https://id.example.jp/kosmo', society: 'kosmo' },
    { issuer: 'https://id.example.jp/sakura', society: 'sakura' },
    { issuer: 'https://daiwa.id.example.jp', society: 'daiwa' },
    { issuer: 'http://localhost:3000', society: 'root' },
    { issuer: 'http://localhost:3000/sakura/', society: 'nested' },
  ]);

  it('reads an issuer as a host and a path prefix', () => {
    expect(issuerPlace('https://id.example.jp/kosmo/')).toEqual({ host: 'id.example.jp', prefix: '/kosmo' });
    expect(issuerPlace('https://Daiwa.ID.example.jp')).toEqual({ host: 'daiwa.id.example.jp', prefix: '' });
  });

  it('routes the path form by its first segment, the whole segment only', () => {
    expect(routes.resolve('id.example.jp', '/kosmo/interaction/abc')).toEqual({ society: 'kosmo', prefix: '/kosmo' });
    expect(routes.resolve('id.example.jp', '/kosmo')).toEqual({ society: 'kosmo', prefix: '/kosmo' });
    expect(routes.resolve('id.example.jp', '/sakura/.well-known/openid-configuration')?.society).toBe('sakura');
    expect(routes.resolve('id.example.jp', '/kosmonaut/account')).toBeUndefined();
    expect(routes.resolve('id.example.jp', '/')).toBeUndefined();
  });

  it('routes the host form by the host, whatever the path, case-insensitively', () => {
    expect(routes.resolve('DAIWA.id.example.jp', '/account')).toEqual({ society: 'daiwa', prefix: '' });
    expect(routes.resolve('other.id.example.jp', '/account')).toBeUndefined();
  });

  it('prefers the longest prefix on a host with a society at its root', () => {
    expect(routes.resolve('localhost:3000', '/sakura/account')).toEqual({ society: 'nested', prefix: '/sakura' });
    expect(routes.resolve('localhost:3000', '/account')).toEqual({ society: 'root', prefix: '' });
    expect(routes.resolve('localhost:3001', '/account')).toBeUndefined();
  });
});
