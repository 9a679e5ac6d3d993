import { Member } from '../../src/db/entities/index.js';
import type { FlowDeps, Host } from '../../src/flow/host.js';
import { proofAttempts } from '../../src/flow/attempt.js';
import { flowDeps } from '../../src/members/ports.js';
import { createLogger } from '../../src/logger.js';
import { totpFactor } from '../../src/factors/totp/index.js';
import { openTotpSecret } from '../../src/factors/totp/secret.js';
import { timeStepAt, totpCodeAt, TOTP_PERIOD_SECONDS } from '../../src/factors/totp/codes.js';
import type { Idp } from '../../src/idp.js';
import { withSociety } from '../../src/db/society.js';

const appDeps = new WeakMap<Idp, FlowDeps>();
const quietDeps = new WeakMap<Idp, FlowDeps>();
/** Fixtures are what an administrator seeded before the test: they mail the member nothing. */
const noMail = { send: async () => ({ ok: true }) };

/**
 * The ports a test's provider hands its flows, steps and factors (src/members/ports.ts), on its real
 * PostgreSQL; `quiet`: a fixture's, whose changes send no mail (the device-added notice, …).
 */
export function testDeps(idp: Idp, quiet = false): FlowDeps {
  const cache = quiet ? quietDeps : appDeps;
  let deps = cache.get(idp);
  if (!deps) {
    deps = flowDeps({ config: idp.config, orm: idp.orm, sql: idp.sql, hasher: idp.hasher, mail: quiet ? noMail : idp.mail, log: createLogger('silent') });
    cache.set(idp, deps);
  }
  return deps;
}

/**
 * A Host for a factor outside HTTP (test fixtures): the member's record, scratch storage in memory.
 * What it runs must run for the society, as a request does: `withSociety(idp.society, …)`.
 */
export async function testHost(idp: Idp, memberId: string, actionUrl = '/test/factor', quiet = false): Promise<Host> {
  const member = await withSociety(idp.society, () => idp.orm.em.fork().findOneOrFail(Member, { id: memberId }));
  const scratch = new Map<string, unknown>();
  const translator = idp.messages.translator('ja');
  return {
    flow: 'console',
    member,
    locale: 'ja',
    t: translator.t,
    ip: '127.0.0.1',
    actionUrl,
    unionName: idp.config.union.name.ja,
    query: {},
    attempt: proofAttempts(testDeps(idp, quiet), '127.0.0.1'),
    scratch: {
      get: <T>(k: string) => scratch.get(k) as T | undefined,
      async set(k, v) {
        if (v === undefined) scratch.delete(k);
        else scratch.set(k, v);
      },
    },
    deps: testDeps(idp, quiet),
  };
}

/**
 * Sets up an authenticator-app device exactly as a member does: the factor's own setup page (the
 * secret it generated, read back from the flow's scratch storage), then a code computed from that
 * secret. Returns the secret so the test can compute codes as the app would.
 */
export function enrolTotpDevice(idp: Idp, memberId: string, label = 'テスト端末'): Promise<{ secret: string; credentialId: string; step: number }> {
  return withSociety(idp.society, () => enrolTotp(idp, memberId, label));
}

async function enrolTotp(idp: Idp, memberId: string, label: string): Promise<{ secret: string; credentialId: string; step: number }> {
  const host = await testHost(idp, memberId, '/test/factor', true);
  await totpFactor.startSetup(host);
  const secret = openTotpSecret(idp.config, memberId, host.scratch.get<string>('totp.pendingSecret')!);
  // The code of the step before (accepted as drift) leaves this step and the next for logins; at a
  // step's turn that code may be too old, and the current one is entered instead, as a member would.
  let outcome = await totpFactor.finishSetup(host, { code: await totpCodeAt(secret, Date.now() / 1000 - TOTP_PERIOD_SECONDS), device_name: label });
  let step = timeStepAt(Date.now() / 1000) - 1;
  if (outcome.kind !== 'verified') {
    outcome = await totpFactor.finishSetup(host, { code: await totpCodeAt(secret, Date.now() / 1000), device_name: label });
    step = timeStepAt(Date.now() / 1000);
  }
  if (outcome.kind !== 'verified') throw new Error(`TOTP setup did not finish: ${JSON.stringify(outcome)}`);
  return { secret, credentialId: outcome.credentialId!, step };
}

/**
 * Codes for one device as its app would show them, never one the provider has already accepted:
 * the current step and the one ahead (both accepted, even if the step turns in flight) are used in turn, then it waits for the next.
 */
export class TotpApp {
  constructor(
    readonly secret: string,
    private lastStep: number,
    readonly credentialId?: string,
    readonly label?: string,
  ) {}

  /** Whether a code not yet used is accepted now (without waiting). */
  get ready(): boolean {
    return this.lastStep + 1 <= timeStepAt(Date.now() / 1000) + 1;
  }

  async nextCode(): Promise<string> {
    let now = Date.now() / 1000;
    let step = Math.max(this.lastStep + 1, timeStepAt(now));
    if (step > timeStepAt(now) + 1) {
      await new Promise((r) => setTimeout(r, ((step - 1) * TOTP_PERIOD_SECONDS - now) * 1000 + 50));
      now = Date.now() / 1000;
      step = Math.max(this.lastStep + 1, timeStepAt(now));
    }
    this.lastStep = step;
    return totpCodeAt(this.secret, step * TOTP_PERIOD_SECONDS);
  }
}

/**
 * The authenticator apps of a member set up by a fixture: several devices (会社用・個人用, FAQ Q11),
 * so that a test can log the same member in more than twice in 30 seconds without reusing a code.
 */
export class TotpDevices {
  constructor(readonly devices: TotpApp[]) {}

  /** A device with a fresh code available now, or the first one (its next code waits for the step). */
  pick(): TotpApp {
    return this.devices.find((d) => d.ready) ?? this.devices[0]!;
  }

  /** The next code of some device (for a member with one device, or where the choice does not matter). */
  nextCode(): Promise<string> {
    return this.pick().nextCode();
  }
}

const APPS = new Map<string, TotpDevices>();

/** The TOTP devices of a member set up by a fixture, by user ID (user IDs are unique across a test run's members). */
export function registerTotpApp(userId: string, devices: TotpDevices): void {
  APPS.set(userId.toLowerCase(), devices);
}

export function totpApp(userId: string): TotpDevices | undefined {
  return APPS.get(userId.trim().toLowerCase());
}

/** The TOTP form of a code page, filled in for one of the member's devices. */
export async function totpFields(devices: TotpDevices): Promise<Record<string, string>> {
  const device = devices.pick();
  return { ...(device.credentialId ? { device: device.credentialId } : {}), code: await device.nextCode() };
}

/** The Base32 key the setup page shows under 「スキャンできませんか?」, as a member would type it into the app. */
export function secretOnSetupPage(html: string): string {
  const key = /<p class="secret-key">[\s\S]*?<code>([A-Z2-7 ]+)<\/code>/.exec(html)?.[1];
  if (!key) throw new Error('no key on the page');
  return key.replace(/ /g, '');
}

/** The six digits of a one-time password mail (its text part). */
export function mailedCode(text: string): string {
  const code = /ワンタイムパスワード: (\d{6})|One-time password: (\d{6})/.exec(text);
  if (!code) throw new Error(`no code in the mail: ${text}`);
  return code[1] ?? code[2]!;
}
