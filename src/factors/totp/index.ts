import { ACR_BY_FACTOR } from '../acr.js';
import type { Factor } from '../types.js';
import { totpChallenge, totpVerify } from './login.js';
import { finishTotpSetup, startTotpSetup } from './setup.js';
import { TOTP_AMR } from './secret.js';

/** ワンタイムパスワード (OTP) アプリ認証: RFC 6238 codes from an authenticator app. */
export const totpFactor: Factor = {
  kind: 'totp',
  amr: TOTP_AMR,
  acr: ACR_BY_FACTOR.totp,
  challenge: totpChallenge,
  verify: totpVerify,
  startSetup: startTotpSetup,
  finishSetup: finishTotpSetup,
  summary: (c) => ({ id: c.id, kind: 'totp', label: c.label, createdAt: c.createdAt, lastUsedAt: c.lastUsedAt ?? null }),
};
