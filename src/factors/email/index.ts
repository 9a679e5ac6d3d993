import { ACR_BY_FACTOR } from '../acr.js';
import type { Factor } from '../types.js';
import { EMAIL_AMR, emailChallenge, emailVerify } from './login.js';

/**
 * ワンタイムパスワード (OTP) メール認証: a code mailed to the confirmed address. Setting it up is
 * the first code entered (there is no device to register); the credential row records that.
 */
export const emailFactor: Factor = {
  kind: 'email',
  amr: EMAIL_AMR,
  acr: ACR_BY_FACTOR.email,
  challenge: emailChallenge,
  verify: (host, input) => emailVerify(host, input, false),
  startSetup: emailChallenge,
  finishSetup: (host, input) => emailVerify(host, input, true),
  summary: (c) => ({ id: c.id, kind: 'email', label: c.label, createdAt: c.createdAt, lastUsedAt: c.lastUsedAt ?? null }),
};
