import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { loadClients, type ResolvedClient } from './clients.js';
import { addIssues, expandPlaceholders, Problems, readJson, unknownPlaceholder } from './problems.js';
import { unionSchema, type UnionPolicy } from './union.js';

/** A society's id: its folder's name under config/societies/, a lowercase slug. */
export const SOCIETY_ID_PATTERN = /^[a-z][a-z0-9-]{1,30}$/;
export const SOCIETY_ID_RULE = 'a lowercase letter, then 1 to 30 lowercase letters, digits or hyphens';
/** The id of the one society of a single-society layout (config/union.json) when SOCIETY_ID is not set. */
export const DEFAULT_SOCIETY_ID = 'kosmo';

const localized = z.object({ ja: z.string().min(1), en: z.string().min(1) }).strict();

/** What a member sees of the society: its name in the header, an optional logo and accent colour. */
export const lookSchema = z
  .object({
    headerName: localized,
    /** An .svg or .png: `static/<file>` (served at /static/<file>), or a path inside the society's folder. */
    logo: z.string().min(1).optional(),
    accentColor: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, 'a colour written #rrggbb')
      .optional(),
  })
  .strict();

/** config/societies/<id>/society.json: the policy of config/union.json, its issuer and its look. Unknown keys are refused. */
export const societySchema = unionSchema
  .extend({
    /** The society's issuer URL: a path (https://id.example.jp/<id>) or a host (https://<id>.id.example.jp); `${ISSUER}` may be used. */
    issuer: z.string().min(1),
    look: lookSchema,
  })
  .strict();

export interface SocietyLook {
  headerName: { ja: string; en: string };
  /** The logo's file, absolute (validated to exist). */
  logo?: string;
  /** #rrggbb, lowercase. */
  accentColor?: string;
}

export interface Society {
  id: string;
  /** The folder its configuration was read from (config/ itself for the single-society layout). */
  dir: string;
  /** Without a trailing slash. */
  issuer: string;
  policy: UnionPolicy;
  terms: { version: string; text: { ja: string; en: string } };
  clients: ResolvedClient[];
  look: SocietyLook;
  /** Its private signing keys from `<dir>/jwks.json` (production); undefined: generated once, kept encrypted in the database. */
  jwks?: { keys: Record<string, unknown>[] };
}

export interface SocietiesOptions {
  configDir: string;
  /** Read for clients' `client_secret_env`. */
  env: NodeJS.ProcessEnv;
  production: boolean;
  /** SOCIETY_ID: the default society (or the id of the single-society layout's one society). */
  societyId?: string;
  /** Whether the ISSUER environment variable is set (for the hint when `${ISSUER}` falls back to localhost). */
  issuerSet: boolean;
  /** What `${ISSUER}` stands for: ISSUER, else http://localhost:$PORT; the single-society layout's issuer. */
  issuerValue: string;
  /** `${DEMO_PORTAL_URL}` of the n-th society (in id order) is http://localhost:<demoPortalPort + n>. */
  demoPortalPort: number;
  /** static/, where `static/<file>` logos live. */
  staticDir: string;
}

export interface LoadedSocieties {
  /** In id order. */
  societies: Society[];
  /** The one named by SOCIETY_ID, else the first. */
  defaultSociety: Society;
  layout: 'societies' | 'single';
}

/** What was read of one society; the parts that failed are missing. */
interface Draft {
  id: string;
  dir: string;
  societyFile: string;
  clientsFile: string;
  issuer?: string;
  policy?: UnionPolicy;
  terms?: Society['terms'];
  look?: SocietyLook;
  jwks?: Society['jwks'];
  clients: ResolvedClient[];
  failed: boolean;
}

const jwksSchema = z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) });

/** `<dir>/jwks.json`, when there is one: a JWKS of private keys. */
function readJwks(dir: string, problems: Problems): Society['jwks'] {
  const file = path.join(dir, 'jwks.json');
  if (!isFile(file)) return undefined;
  const json = readJson(file, problems);
  if (!json) return undefined;
  const parsed = jwksSchema.safeParse(json.value);
  if (!parsed.success || parsed.data.keys.some((k) => !('d' in k))) {
    problems.add(`${file}: must be a JWKS with at least one key, every key private`);
    return undefined;
  }
  return parsed.data;
}

function isFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile();
}

/** Why a value is not an issuer URL, if it is not. */
export function issuerProblem(value: string, production: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not an absolute URL`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `"${value}" must be an http:// or https:// URL`;
  if (url.search || url.hash || value.includes('?') || value.includes('#')) return `"${value}" must have no query or fragment`;
  if (url.username || url.password) return `"${value}" must carry no user name or password`;
  if (production && url.protocol !== 'https:') return 'must be https:// in production';
  return undefined;
}

/** The issuer as compared and served: the URL's normal form, without a trailing slash. */
export function normalizeIssuer(value: string): string {
  return new URL(value).href.replace(/\/$/, '');
}

function readTerms(policy: UnionPolicy, dir: string, file: string, problems: Problems): Society['terms'] | undefined {
  const text = { ja: '', en: '' };
  let ok = true;
  for (const locale of ['ja', 'en'] as const) {
    const f = path.join(dir, policy.terms.files[locale]);
    if (!isFile(f)) {
      problems.add(`${file}: field "terms.files.${locale}": ${f} not found`);
      ok = false;
    } else {
      text[locale] = readFileSync(f, 'utf8');
    }
  }
  return ok ? { version: policy.terms.version, text } : undefined;
}

function readLook(look: z.infer<typeof lookSchema>, dir: string, file: string, staticDir: string, problems: Problems): SocietyLook | undefined {
  const result: SocietyLook = { headerName: look.headerName };
  if (look.accentColor) result.accentColor = look.accentColor.toLowerCase();
  if (look.logo === undefined) return result;
  const logo = look.logo;
  const field = `${file}: field "look.logo"`;
  if (path.isAbsolute(logo) || logo.includes('\\') || logo.split('/').includes('..')) {
    problems.add(`${field}: "${logo}" must be static/<file> or a path inside the society's folder`);
    return undefined;
  }
  if (!/\.(svg|png)$/i.test(logo)) {
    problems.add(`${field}: "${logo}" must be an .svg or .png image`);
    return undefined;
  }
  const underStatic = logo.startsWith('static/');
  if (underStatic && logo.slice('static/'.length).includes('/')) {
    problems.add(`${field}: "${logo}" must be a file directly in static/ (only those are served)`);
    return undefined;
  }
  const resolved = underStatic ? path.join(staticDir, logo.slice('static/'.length)) : path.join(dir, logo);
  if (!isFile(resolved)) {
    problems.add(`${field}: ${resolved} not found`);
    return undefined;
  }
  result.logo = resolved;
  return result;
}

/** One folder config/societies/<id>/. */
function readSociety(id: string, dir: string, position: number, o: SocietiesOptions, problems: Problems): Draft {
  const before = problems.count;
  const draft: Draft = { id, dir, societyFile: path.join(dir, 'society.json'), clientsFile: path.join(dir, 'clients.json'), clients: [], failed: false };
  const file = draft.societyFile;
  const json = readJson(file, problems);
  const parsed = json ? societySchema.safeParse(json.value) : undefined;
  if (parsed && !parsed.success) addIssues(problems, file, parsed.error);
  if (parsed?.success) {
    const society = parsed.data;
    const { issuer: written, look, ...policy } = society;
    draft.policy = policy;
    const vars = { ISSUER: o.issuerValue };
    let unknown = false;
    const expanded = expandPlaceholders(written, vars, (name) => {
      problems.add(`${file}: field "issuer": ${unknownPlaceholder(name, vars)}`);
      unknown = true;
    }) as string;
    const problem = unknown ? undefined : issuerProblem(expanded, o.production);
    if (problem) {
      const usesIssuer = /\$\{ISSUER\}/.test(written);
      const hint = usesIssuer && !o.issuerSet ? ` (it uses \${ISSUER}, and ISSUER is not set: http://localhost:$PORT)` : '';
      problems.add(`${file}: field "issuer": ${problem}${hint}`);
    } else if (!unknown) {
      draft.issuer = normalizeIssuer(expanded);
    }
    draft.terms = readTerms(policy, dir, file, problems);
    draft.look = readLook(look, dir, file, o.staticDir, problems);
    draft.jwks = readJwks(dir, problems);
  }
  draft.clients = loadClients(draft.clientsFile, o.env, { DEMO_PORTAL_URL: `http://localhost:${o.demoPortalPort + position}` }, problems);
  draft.failed = problems.count > before;
  return draft;
}

/** The single-society layout: config/union.json, config/clients.json and the terms they name. */
function readSingleSociety(o: SocietiesOptions, problems: Problems): Draft {
  const before = problems.count;
  const dir = o.configDir;
  const id = o.societyId ?? DEFAULT_SOCIETY_ID;
  const draft: Draft = { id, dir, societyFile: path.join(dir, 'union.json'), clientsFile: path.join(dir, 'clients.json'), clients: [], failed: false };
  const file = draft.societyFile;
  const json = readJson(file, problems);
  const parsed = json ? unionSchema.safeParse(json.value) : undefined;
  if (parsed && !parsed.success) addIssues(problems, file, parsed.error);
  if (parsed?.success) {
    draft.policy = parsed.data;
    draft.terms = readTerms(parsed.data, dir, file, problems);
    draft.look = { headerName: parsed.data.name };
  }
  const problem = issuerProblem(o.issuerValue, o.production);
  if (problem) problems.add(`environment: ISSUER: ${problem}`);
  else draft.issuer = normalizeIssuer(o.issuerValue);
  draft.clients = loadClients(draft.clientsFile, o.env, { DEMO_PORTAL_URL: `http://localhost:${o.demoPortalPort}` }, problems);
  draft.failed = problems.count > before;
  return draft;
}

/** Refused across societies: one issuer for two, and one (post-logout) redirect URI registered for two. */
function checkAcrossSocieties(drafts: Draft[], problems: Problems): void {
  const issuers = new Map<string, string>();
  for (const d of drafts) {
    if (!d.issuer) continue;
    const other = issuers.get(d.issuer);
    if (other) problems.add(`${d.societyFile}: field "issuer": ${d.issuer} is already the issuer of society "${other}"`);
    else issuers.set(d.issuer, d.id);
  }
  for (const field of ['redirect_uris', 'post_logout_redirect_uris'] as const) {
    const registered = new Map<string, { society: string; client: string }>();
    for (const d of drafts) {
      for (const client of d.clients) {
        client[field].forEach((uri, index) => {
          const other = registered.get(uri);
          if (!other) registered.set(uri, { society: d.id, client: client.client_id });
          else if (other.society !== d.id)
            problems.add(
              `${d.clientsFile}: client "${client.client_id}": field "${field}.${index}": ${uri} is already registered for society "${other.society}" (client "${other.client}")`,
            );
        });
      }
    }
  }
}

/**
 * Every society of the deployment, validated: each problem is one line naming the file (hence the
 * society) and the field, and all of them are reported at once (ConfigError).
 *
 * The layout is config/societies/<id>/ (society.json, clients.json, terms/), one folder per society;
 * a configuration folder without societies/ but with union.json and clients.json is one society
 * whose issuer is ISSUER (the layout before societies).
 */
export function loadSocieties(o: SocietiesOptions): LoadedSocieties {
  const problems = new Problems();
  const societiesDir = path.join(o.configDir, 'societies');
  let drafts: Draft[] = [];
  let layout: LoadedSocieties['layout'];
  if (existsSync(societiesDir)) {
    layout = 'societies';
    for (const legacy of ['union.json', 'clients.json']) {
      const file = path.join(o.configDir, legacy);
      if (existsSync(file)) problems.add(`${file}: not read beside ${societiesDir}: move it into a society's folder (societies/<id>/) or remove it`);
    }
    if (!statSync(societiesDir).isDirectory()) {
      problems.add(`${societiesDir}: must be a folder, with a folder per society`);
    } else {
      const names = readdirSync(societiesDir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => e.name)
        .sort();
      const ids = names.filter((name) => {
        if (SOCIETY_ID_PATTERN.test(name)) return true;
        problems.add(`${path.join(societiesDir, name)}: the folder's name is not a society id (${SOCIETY_ID_RULE})`);
        return false;
      });
      if (names.length === 0) problems.add(`${societiesDir}: no society: add a folder societies/<id>/ with society.json, clients.json and terms/`);
      drafts = ids.map((id, position) => readSociety(id, path.join(societiesDir, id), position, o, problems));
      if (o.societyId && ids.length > 0 && !ids.includes(o.societyId))
        problems.add(`environment: SOCIETY_ID: no society "${o.societyId}" in ${societiesDir} (configured: ${ids.join(', ')})`);
    }
  } else if (existsSync(path.join(o.configDir, 'union.json'))) {
    layout = 'single';
    drafts = [readSingleSociety(o, problems)];
  } else {
    problems.add(
      `${societiesDir}: not found: a folder per society (societies/<id>/ with society.json, clients.json and terms/), or the single-society union.json and clients.json in ${o.configDir}`,
    );
    layout = 'societies';
  }
  checkAcrossSocieties(drafts, problems);
  problems.throwIfAny();

  const societies = drafts.map((d): Society => {
    if (d.failed || !d.issuer || !d.policy || !d.terms || !d.look) throw new Error(`society ${d.id}: loaded with problems but none recorded`);
    return { id: d.id, dir: d.dir, issuer: d.issuer, policy: d.policy, terms: d.terms, clients: d.clients, look: d.look, jwks: d.jwks };
  });
  const defaultSociety = societies.find((s) => s.id === o.societyId) ?? societies[0]!;
  return { societies, defaultSociety, layout };
}
