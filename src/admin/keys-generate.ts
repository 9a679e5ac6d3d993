import { generateSigningKeys } from '../oidc/keys.js';
import { writeFile } from 'node:fs/promises';
import { parseCommandArgs } from './args.js';
import { ExitCode, failed, succeeded, type CommandResult } from './result.js';

type Jwk = Record<string, unknown>;

export interface KeysGenerateArgs {
  /** Write here (mode 600, never overwriting) instead of stdout. */
  out?: string;
}

export const keysGenerateUsage = [
  'usage: keys generate [--out FILE]',
  '  Prints a private JWKS (one RS256 and one ES256 signing key) for JWKS_FILE in production.',
  '  With --out, writes it to FILE readable only by its owner, and refuses to overwrite an existing file.',
];

export function parseKeysGenerateArgs(argv: string[]): KeysGenerateArgs {
  const { values } = parseCommandArgs(argv, { out: { type: 'string' } }, { names: [] });
  return { out: typeof values.out === 'string' ? values.out : undefined };
}

export function generatePrivateJwks(): { keys: Jwk[] } {
  return { keys: generateSigningKeys() };
}

/** `keys generate`: needs no database and no configuration, so it works before either exists. */
export async function generateKeys(args: KeysGenerateArgs): Promise<CommandResult<{ jwks: { keys: Jwk[] } }>> {
  const jwks = generatePrivateJwks();
  const json = `${JSON.stringify(jwks, null, 2)}\n`;
  if (!args.out) return succeeded([json.trimEnd()], { jwks });
  try {
    await writeFile(args.out, json, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const code = (err as { code?: string }).code;
    return failed(
      ExitCode.refused,
      code === 'EEXIST' ? `${args.out}: already exists; not overwritten` : `${args.out}: cannot write (${code ?? (err as Error).message})`,
    );
  }
  const kids = jwks.keys.map((k) => `${String(k.alg)} kid ${String(k.kid)}`).join(', ');
  return succeeded([`wrote a private JWKS (${kids}) to ${args.out}; set JWKS_FILE=${args.out}`], { jwks });
}
