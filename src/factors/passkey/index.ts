import { ACR_BY_FACTOR } from '../acr.js';
import type { Factor } from '../types.js';
import { passkeyChallenge, passkeyVerify } from './login.js';
import { finishPasskeySetup, startPasskeySetup } from './setup.js';

/** 生体認証: a user-verified passkey (WebAuthn), on this device or on a phone through the browser's QR flow. */
export const passkeyFactor: Factor = {
  kind: 'passkey',
  amr: ['hwk', 'user'],
  acr: ACR_BY_FACTOR.passkey,
  challenge: passkeyChallenge,
  verify: passkeyVerify,
  startSetup: (host) => startPasskeySetup(host),
  finishSetup: finishPasskeySetup,
  summary: (c) => ({
    id: c.id,
    kind: 'passkey',
    label: c.label,
    createdAt: c.createdAt,
    lastUsedAt: c.lastUsedAt ?? null,
    detail: { synced: c.backedUp ?? false, transports: c.transports, aaguid: c.aaguid },
  }),
};
