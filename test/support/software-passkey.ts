import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { passkeyFactor } from '../../src/factors/passkey/index.js';
import type { Idp } from '../../src/idp.js';
import { testHost } from './factors.js';
import { withSociety } from '../../src/db/society.js';

/**
 * A passkey authenticator in the test process, for HTTP tests that need many ceremonies quickly
 * (the Chromium tests use the browser's virtual authenticator instead): an ES256 key, attestation
 * `none`, user verification always made, and a sign counter that stays 0, as synced passkeys do
 * (unless a test sets `signCount`).
 * What it answers is checked by the provider's own code (@simplewebauthn/server), unchanged.
 */
export class SoftwarePasskey {
  private readonly keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  readonly credentialId = randomBytes(16);
  /**
   * The sign counter the next assertion reports. 0, as synced passkeys report every time; a test
   * sets it to act as a device-bound authenticator (which counts up) or as a clone of one.
   */
  signCount = 0;

  constructor(
    private readonly rpId: string,
    private readonly origin: string,
  ) {}

  static forIdp(idp: Idp): SoftwarePasskey {
    return new SoftwarePasskey(idp.config.webauthn.rpId, idp.config.webauthn.origins[0]!);
  }

  /** Sets the passkey up for a member through the factor's own setup, as the console does (registration, then 認証ラベル). */
  enrol(idp: Idp, memberId: string, label = 'テスト用パスキー'): Promise<void> {
    return withSociety(idp.society, () => this.enrolInSociety(idp, memberId, label));
  }

  private async enrolInSociety(idp: Idp, memberId: string, label: string): Promise<void> {
    const host = await testHost(idp, memberId);
    const page = await passkeyFactor.startSetup(host);
    const options = JSON.parse(String(page.vars.optionsJson)) as PublicKeyCredentialCreationOptionsJSON;
    const registered = await passkeyFactor.finishSetup(host, { response: JSON.stringify(this.register(options)) });
    if (registered.kind !== 'show' || registered.view.view !== 'factor-passkey-label')
      throw new Error(`passkey registration refused: ${JSON.stringify(registered)}`);
    const named = await passkeyFactor.finishSetup(host, { step: 'label', label });
    if (named.kind !== 'verified') throw new Error(`passkey not stored: ${JSON.stringify(named)}`);
  }

  register(options: PublicKeyCredentialCreationOptionsJSON): RegistrationResponseJSON {
    const jwk = this.keys.publicKey.export({ format: 'jwk' });
    const coseKey = cbor(
      new Map<number, unknown>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
    const length = Buffer.alloc(2);
    length.writeUInt16BE(this.credentialId.length);
    // Flags: user present, user verified, attested credential data.
    const authData = Buffer.concat([this.rpIdHash(), Buffer.from([0x45]), Buffer.alloc(4), Buffer.alloc(16), length, this.credentialId, coseKey]);
    return {
      id: this.credentialId.toString('base64url'),
      rawId: this.credentialId.toString('base64url'),
      type: 'public-key',
      response: {
        clientDataJSON: this.clientData('webauthn.create', options.challenge).toString('base64url'),
        attestationObject: cbor(
          new Map<string, unknown>([
            ['fmt', 'none'],
            ['attStmt', new Map()],
            ['authData', authData],
          ]),
        ).toString('base64url'),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** An assertion for the options a page offered; `userHandle` is the member's id, as registered. */
  assert(options: PublicKeyCredentialRequestOptionsJSON, userHandle: string): AuthenticationResponseJSON {
    // Flags: user present, user verified; then the sign counter (big-endian, 4 bytes).
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.signCount);
    const authenticatorData = Buffer.concat([this.rpIdHash(), Buffer.from([0x05]), counter]);
    const clientData = this.clientData('webauthn.get', options.challenge);
    const signature = sign('sha256', Buffer.concat([authenticatorData, createHash('sha256').update(clientData).digest()]), this.keys.privateKey);
    return {
      id: this.credentialId.toString('base64url'),
      rawId: this.credentialId.toString('base64url'),
      type: 'public-key',
      response: {
        clientDataJSON: clientData.toString('base64url'),
        authenticatorData: authenticatorData.toString('base64url'),
        signature: signature.toString('base64url'),
        userHandle: Buffer.from(userHandle, 'utf8').toString('base64url'),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  private rpIdHash(): Buffer {
    return createHash('sha256').update(this.rpId).digest();
  }

  private clientData(type: string, challenge: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin: this.origin, crossOrigin: false }));
  }
}

/** CBOR (RFC 8949), only what WebAuthn needs here: small integers, byte and text strings, maps. */
function cbor(value: unknown): Buffer {
  const head = (major: number, n: number) => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
    if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
    throw new Error('too long for this encoder');
  };
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Map) return Buffer.concat([head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])]);
  throw new Error(`cannot encode ${typeof value}`);
}
