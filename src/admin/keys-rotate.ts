import { rotateStoredSigningKeys } from '../members/changes/secrets.js';
import { JWKS_MAX_AGE_SECONDS } from '../oidc/provider.js';
import { KEY_CHECK_MS, type Rotation } from '../oidc/keys.js';
import { parseCommandArgs } from './args.js';
import type { AdminDeps } from './deps.js';
import { ExitCode, failed, UsageError, type CommandResult } from './result.js';

/**
 * The shortest grace period: every process reads the new key (KEY_CHECK_MS), then every relying
 * party's cached JWKS expires (JWKS_MAX_AGE_SECONDS), with a minute to spare, before it signs.
 */
export const MIN_GRACE_SECONDS = JWKS_MAX_AGE_SECONDS + KEY_CHECK_MS / 1000 + 60;
export const DEFAULT_GRACE_SECONDS = 24 * 60 * 60;
/** Clock skew a relying party may allow an ID token past its expiry. */
const SKEW_SECONDS = 60;

export interface KeysRotateArgs {
  graceSeconds: number;
}

export const keysRotateUsage = [
  'usage: keys rotate [--grace SECONDS] [--society ID]',
  "  Adds a new signing key (RS256 and ES256) to the society's keys in the database: published in its JWKS at once,",
  `  signing after the grace period (default ${DEFAULT_GRACE_SECONDS} s, at least ${MIN_GRACE_SECONDS} s: longer than portals cache the JWKS).`,
  '  The keys it replaces stay published until the ID tokens they signed have expired, then are retired.',
  '  Every running process follows within a minute; nothing to restart. A society signing with a key file',
  '  (JWKS_FILE, its jwks.json) is rotated by editing that file instead.',
];

export function parseKeysRotateArgs(argv: string[]): KeysRotateArgs {
  const { values } = parseCommandArgs(argv, { grace: { type: 'string' } }, { names: [] });
  const given = values.grace;
  if (given === undefined) return { graceSeconds: DEFAULT_GRACE_SECONDS };
  if (typeof given !== 'string' || !/^\d+$/.test(given) || Number(given) < MIN_GRACE_SECONDS || Number(given) > 30 * 24 * 60 * 60) {
    throw new UsageError(`--grace must be a whole number of seconds from ${MIN_GRACE_SECONDS} to ${30 * 24 * 60 * 60}`);
  }
  return { graceSeconds: Number(given) };
}

export async function rotateKeys(deps: AdminDeps, args: KeysRotateArgs): Promise<CommandResult<Rotation>> {
  const { config } = deps;
  if (config.jwks) {
    return failed(
      ExitCode.refused,
      `society ${config.society.id} signs with the keys of a key file (JWKS_FILE or config/societies/${config.society.id}/jwks.json), not the database: ` +
        'add the new key after the old one there, restart, wait until portals have it, move it first, and remove the old key once its tokens expired',
    );
  }
  const rotation = await rotateStoredSigningKeys(deps, {
    secrets: config,
    plan: { graceSeconds: args.graceSeconds, retireAfterSeconds: config.union.ttl.idTokenSeconds + SKEW_SECONDS },
    via: 'cli',
  });
  return {
    exitCode: ExitCode.ok,
    output: [
      `society ${config.society.id}: new signing keys ${rotation.added.map((k) => `${k.kid} (${k.alg})`).join(', ')}: published now, signing from ${rotation.activatesAt.toISOString()}`,
      ...rotation.retiring.map((k) => `  replaced key ${k.kid}: published until ${k.retiresAt.toISOString()}, then retired`),
    ],
    errors: [],
    data: rotation,
  };
}
