import { z } from 'zod';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  type AuthenticatorTransport,
} from '@simplewebauthn/server';
import type { Config } from '../../config/index.js';
import { challengeValid, issueChallenge } from './challenge.js';

/**
 * The two WebAuthn ceremonies with @simplewebauthn/server, as this provider wants them: user
 * verification required (a passkey is then something you have + something you are or know),
 * attestation `none`, discoverable credentials (so the login page can offer them alone), and the
 * member's existing passkeys excluded so one authenticator is not registered twice.
 */
export const CEREMONY_TIMEOUT_MS = 5 * 60 * 1000;
const CHALLENGE_MAX_AGE_SECONDS = CEREMONY_TIMEOUT_MS / 1000 + 60;

export interface PasskeyContext {
  webauthn: Config['webauthn'];
  /** Key for the challenges' HMAC (derived from SECRETS_KEY). */
  challengeKey: Buffer;
  /** Keys a challenge may have been made with: challengeKey, then those derived from SECRETS_KEY_PREVIOUS. */
  acceptedChallengeKeys: readonly Buffer[];
  /** The flow the ceremony belongs to (the interaction uid). */
  flowId: string;
}

/** A stored passkey as the ceremonies need it. */
export interface StoredPasskey {
  webauthnId: string;
  /** COSE public key, base64url. */
  publicKey: string;
  signCount: number;
  transports: string[];
}

const TRANSPORTS = ['ble', 'hybrid', 'internal', 'nfc', 'usb'] as const;
const b64url = z
  .string()
  .min(1)
  .max(16384)
  .regex(/^[A-Za-z0-9_-]+$/);

const registrationResponseSchema = z
  .object({
    id: b64url.max(1024),
    rawId: b64url.max(1024),
    type: z.literal('public-key'),
    response: z
      .object({
        clientDataJSON: b64url,
        attestationObject: b64url,
        transports: z.array(z.string().max(32)).max(8).optional(),
      })
      .passthrough(),
    clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
    authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  })
  .passthrough();

const authenticationResponseSchema = z
  .object({
    id: b64url.max(1024),
    rawId: b64url.max(1024),
    type: z.literal('public-key'),
    response: z
      .object({
        clientDataJSON: b64url,
        authenticatorData: b64url,
        signature: b64url,
        userHandle: z.string().max(512).optional(),
      })
      .passthrough(),
    clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
    authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  })
  .passthrough();

function parseJson(text: unknown): unknown {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64 * 1024) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The browser's answer to a registration, or undefined when it is not one. */
export function parseRegistrationResponse(text: unknown): RegistrationResponseJSON | undefined {
  const parsed = registrationResponseSchema.safeParse(parseJson(text));
  return parsed.success ? (parsed.data as unknown as RegistrationResponseJSON) : undefined;
}

/** The browser's answer to an authentication, or undefined when it is not one. */
export function parseAuthenticationResponse(text: unknown): AuthenticationResponseJSON | undefined {
  const parsed = authenticationResponseSchema.safeParse(parseJson(text));
  return parsed.success ? (parsed.data as unknown as AuthenticationResponseJSON) : undefined;
}

const asTransports = (list: string[]) => list.filter((t): t is AuthenticatorTransport => (TRANSPORTS as readonly string[]).includes(t));

export async function passkeyRegistrationOptions(
  ctx: PasskeyContext,
  member: { id: string; userId: string; displayName: string },
  existing: StoredPasskey[],
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return generateRegistrationOptions({
    rpName: ctx.webauthn.rpName,
    rpID: ctx.webauthn.rpId,
    // The stable opaque subject, never the user ID the member may change.
    userID: new TextEncoder().encode(member.id),
    userName: member.userId,
    userDisplayName: member.displayName,
    // Bytes, not the string: the library would otherwise sign the UTF-8 of our base64url text.
    challenge: Buffer.from(issueChallenge(ctx.challengeKey, 'register', ctx.flowId), 'base64url'),
    timeout: CEREMONY_TIMEOUT_MS,
    attestationType: 'none',
    excludeCredentials: existing.map((c) => ({ id: c.webauthnId, transports: asTransports(c.transports) })),
    authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
  });
}

export interface NewPasskey {
  webauthnId: string;
  publicKey: string;
  signCount: number;
  transports: string[];
  backedUp: boolean;
  deviceType: 'singleDevice' | 'multiDevice';
  aaguid: string;
}

/** Checks a registration; undefined when the browser's answer does not prove a new, user-verified passkey. */
export async function verifyPasskeyRegistration(ctx: PasskeyContext, response: RegistrationResponseJSON): Promise<NewPasskey | undefined> {
  try {
    const result = await verifyRegistrationResponse({
      response,
      expectedChallenge: (c) => challengeValid(ctx.acceptedChallengeKeys, 'register', ctx.flowId, c, CHALLENGE_MAX_AGE_SECONDS),
      expectedOrigin: ctx.webauthn.origins,
      expectedRPID: ctx.webauthn.rpId,
      requireUserVerification: true,
    });
    if (!result.verified) return undefined;
    const info = result.registrationInfo;
    return {
      webauthnId: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      signCount: info.credential.counter,
      transports: asTransports(response.response.transports ?? []),
      backedUp: info.credentialBackedUp,
      deviceType: info.credentialDeviceType,
      aaguid: info.aaguid,
    };
  } catch {
    return undefined;
  }
}

/** Options for navigator.credentials.get: the member's passkeys, or none for the login page's discoverable flow. */
export async function passkeyAuthenticationOptions(ctx: PasskeyContext, allow?: StoredPasskey[]): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return generateAuthenticationOptions({
    rpID: ctx.webauthn.rpId,
    challenge: Buffer.from(issueChallenge(ctx.challengeKey, 'authenticate', ctx.flowId), 'base64url'),
    timeout: CEREMONY_TIMEOUT_MS,
    userVerification: 'required',
    allowCredentials: allow?.map((c) => ({ id: c.webauthnId, transports: asTransports(c.transports) })),
  });
}

export interface PasskeyUse {
  newSignCount: number;
  backedUp: boolean;
  deviceType: 'singleDevice' | 'multiDevice';
}

export type PasskeyAssertionResult =
  | { ok: true; use: PasskeyUse }
  /**
   * `counter`: a valid signature whose sign counter did not grow past the stored one while one of
   * them is non-zero (WebAuthn §6.1.1): possibly a cloned authenticator. `invalid`: anything else.
   */
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'counter'; received: number };

/**
 * Checks an assertion made with `stored`: signature, user verification, a challenge of this flow,
 * then the sign counter. Synced passkeys report 0 every time: 0 stored and 0 received is fine; a
 * non-zero counter that did not grow is refused as `counter`, so the caller can tell it apart.
 */
export async function verifyPasskeyAuthentication(
  ctx: PasskeyContext,
  response: AuthenticationResponseJSON,
  stored: StoredPasskey,
): Promise<PasskeyAssertionResult> {
  if (response.id !== stored.webauthnId) return { ok: false, reason: 'invalid' };
  let use: PasskeyUse;
  try {
    const result = await verifyAuthenticationResponse({
      response,
      expectedChallenge: (c) => challengeValid(ctx.acceptedChallengeKeys, 'authenticate', ctx.flowId, c, CHALLENGE_MAX_AGE_SECONDS),
      expectedOrigin: ctx.webauthn.origins,
      expectedRPID: ctx.webauthn.rpId,
      credential: {
        id: stored.webauthnId,
        publicKey: new Uint8Array(Buffer.from(stored.publicKey, 'base64url')),
        // The counter is compared below, after the signature, so that its failure has its own answer.
        counter: 0,
        transports: asTransports(stored.transports),
      },
      requireUserVerification: true,
    });
    if (!result.verified) return { ok: false, reason: 'invalid' };
    const info = result.authenticationInfo;
    use = { newSignCount: info.newCounter, backedUp: info.credentialBackedUp, deviceType: info.credentialDeviceType };
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if ((use.newSignCount > 0 || stored.signCount > 0) && use.newSignCount <= stored.signCount)
    return { ok: false, reason: 'counter', received: use.newSignCount };
  return { ok: true, use };
}

/** The member a discoverable passkey names (its user handle is the member's id), if it names one. */
export function userHandleOf(response: AuthenticationResponseJSON): string | undefined {
  const handle = response.response.userHandle;
  if (!handle) return undefined;
  try {
    return Buffer.from(handle, 'base64url').toString('utf8');
  } catch {
    return undefined;
  }
}

/** The challenge a browser's answer signed (from its clientDataJSON), to spend it once. */
export function challengeOf(response: RegistrationResponseJSON | AuthenticationResponseJSON): string | undefined {
  try {
    const client = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof client.challenge === 'string' && client.challenge.length <= 128 ? client.challenge : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Options for the login page's discoverable ceremony (autofill and 「生体認証でログイン」): no
 * credential list, so nothing tells who has a passkey. Built without I/O, for every login page.
 */
export function discoverableLoginOptions(ctx: PasskeyContext): PublicKeyCredentialRequestOptionsJSON {
  return {
    challenge: issueChallenge(ctx.challengeKey, 'authenticate', ctx.flowId),
    timeout: CEREMONY_TIMEOUT_MS,
    rpId: ctx.webauthn.rpId,
    userVerification: 'required',
    allowCredentials: [],
  };
}
