import { z } from 'zod';
import { CREDENTIAL_KINDS, findMemberCredential, listMemberCredentials, type Credential, type CredentialKind } from '../../members/reads.js';
import { recentlyAddedDevices, type SecondFactorKind } from '../../members/credentials.js';
import { chooseNewDeviceAsMethod, removeDevice, renameDevice } from '../../members/changes/devices.js';
import { SECOND_FACTORS, passwordFactor } from '../../factors/index.js';
import { anyForm, field, type FormBody, type FormSpec } from '../form.js';
import { renderView } from '../host.js';
import { renderAccount, requireRecentLogin, requireStrongFactorIfHeld, type AccountRequest } from './request.js';
import { logoutSession, sessionsOfMember } from './signed-in-devices.js';
import { recoveryCodesLeft } from '../../members/recovery-codes.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NOTICES: Record<string, string> = {
  password: 'account.methods.password_updated',
  removed: 'account.methods.removed',
  renamed: 'account.methods.renamed',
  added: 'account.methods.added',
  session_ended: 'account.sessions.ended',
};

/** GET /account/login-methods — ログイン方法: 基本認証 (password) and 二要素認証 (apps, passkeys, email). */
export async function showLoginMethods(request: AccountRequest, errors: string[] = [], status = 200): Promise<void> {
  const { deps, session, ctx } = request;
  const credentials = await listMemberCredentials(deps.orm, session.member.id);
  const byKind = (kind: CredentialKind) =>
    credentials
      .filter((c) => c.kind === kind)
      .map((c) => (kind === 'password' ? passwordFactor : SECOND_FACTORS[kind as SecondFactorKind])?.summary(c) ?? plainSummary(c));
  const t = ctx.state.t;
  const done = typeof ctx.query.done === 'string' ? NOTICES[ctx.query.done] : undefined;
  return renderAccount(
    request,
    'account-login-methods',
    {
      section: 'login_methods',
      password: byKind('password')[0],
      methods: deps.config.union.authMethods.map((kind) => ({
        kind,
        chosen: session.member.chosenFactor === kind,
        canAdd: Boolean(SECOND_FACTORS[kind]) && kind !== 'email',
        credentials: kind === 'email' ? [] : byKind(kind),
      })),
      email: session.member.email,
      sessions: await sessionsOfMember(request),
      recoveryCodes: await recoveryCodesLeft(deps.sql, session.member.id),
      recentlyAdded: await recentlyAddedDevices(deps.sql, session.member.id),
      notice: done ? t(done) : undefined,
      errors: errors.map((k) => t(k)),
    },
    status,
  );
}

function plainSummary(c: Credential) {
  return { id: c.id, kind: c.kind, label: c.label, createdAt: c.createdAt, lastUsedAt: c.lastUsedAt ?? null };
}

async function ownCredential(request: AccountRequest): Promise<Credential | null> {
  const id = String(request.ctx.params.id ?? '');
  if (!UUID.test(id)) return null;
  const credential = await findMemberCredential(request.deps.orm, request.session.member.id, id);
  return credential && credential.kind !== 'password' ? credential : null;
}

/** GET /account/credentials/:id/delete — 削除 asks first, with the device's name. */
export async function showRemoveCredential(request: AccountRequest): Promise<void> {
  const credential = await ownCredential(request);
  if (!credential) return showLoginMethods(request, ['account.methods.error_not_found'], 404);
  if (!requireRecentLogin(request, request.ctx.path)) return;
  if (!(await requireStrongFactorIfHeld(request, request.ctx.path, () => showLoginMethods(request, ['account.methods.error_strong_factor'], 403)))) return;
  return renderAccount(request, 'account-credential-delete', { section: 'login_methods', actionUrl: request.ctx.path, credential: plainSummary(credential) });
}

/** Removes it, unless it is the last one of the method the member chose (they could not log in). */
async function removeCredential(request: AccountRequest): Promise<void> {
  const { ctx, deps, session } = request;
  const credential = await ownCredential(request);
  if (!credential) return showLoginMethods(request, ['account.methods.error_not_found'], 404);
  if (!requireRecentLogin(request, `${ctx.path}`.replace(/\/?$/, ''))) return;
  if (!(await requireStrongFactorIfHeld(request, ctx.path.replace(/\/?$/, ''), () => showLoginMethods(request, ['account.methods.error_strong_factor'], 403))))
    return;
  const refusal = await removeDevice(deps, { member: session.member, credentialId: credential.id, ip: ctx.ip });
  if (refusal) return showLoginMethods(request, ['account.methods.error_last_of_chosen'], 409);
  ctx.status = 303;
  ctx.redirect('/account/login-methods?done=removed');
}

/** POST /account/credentials/:id/delete — 削除 (a button alone, no fields). */
export const removeCredentialForm: FormSpec<AccountRequest, FormBody> = {
  schema: anyForm,
  submit: removeCredential,
  refused: (request) => showLoginMethods(request, ['login.error_session'], 400),
};

const labelForm = z.object({ label: field(200) });
type LabelForm = z.infer<typeof labelForm>;
const typedLabel = (form: LabelForm) => form.label.normalize('NFC').trim();

/** GET /account/credentials/:id/rename — 名前の変更 of a passkey or an authenticator app. */
export async function showRenameCredential(request: AccountRequest, errors: string[] = [], typed?: string, status = 200): Promise<void> {
  const credential = await ownCredential(request);
  if (!credential) return showLoginMethods(request, ['account.methods.error_not_found'], 404);
  const t = request.ctx.state.t;
  return renderAccount(
    request,
    'account-credential-rename',
    {
      section: 'login_methods',
      actionUrl: request.ctx.path,
      credential: plainSummary(credential),
      label: typed ?? credential.label,
      errors: errors.map((k) => t(k)),
    },
    status,
  );
}

async function renameCredential(request: AccountRequest, form: LabelForm): Promise<void> {
  const { ctx, deps, session } = request;
  const credential = await ownCredential(request);
  if (!credential) return showLoginMethods(request, ['account.methods.error_not_found'], 404);
  const label = typedLabel(form);
  if (!label) return showRenameCredential(request, ['account.methods.error_label_required'], label, 400);
  if ([...label].length > 64 || /[\p{Cc}\p{Cs}]/u.test(label))
    return showRenameCredential(request, ['account.methods.error_label_invalid'], label.slice(0, 64), 400);
  const renamed = await renameDevice(deps, { memberId: session.member.id, credentialId: credential.id, label, ip: ctx.ip });
  if (renamed === 'taken') return showRenameCredential(request, ['account.methods.error_label_taken'], label, 409);
  ctx.status = 303;
  ctx.redirect('/account/login-methods?done=renamed');
}

/** POST /account/credentials/:id/rename — 名前の変更. */
export const renameCredentialForm: FormSpec<AccountRequest, LabelForm> = {
  schema: labelForm,
  submit: renameCredential,
  refused: (request, form) => showRenameCredential(request, ['login.error_session'], typedLabel(form), 400),
};

const isSecondFactorKind = (kind: unknown): kind is SecondFactorKind =>
  typeof kind === 'string' && kind !== 'password' && (CREDENTIAL_KINDS as readonly string[]).includes(kind);

/**
 * GET and POST /account/factors/:kind/setup — 「設定」: the factor's own setup, as at first login.
 * From the profile (?choose=1) the method becomes the chosen one when its setup is done (FAQ Q18).
 */
async function factorSetup(request: AccountRequest, body?: FormBody): Promise<void> {
  const { ctx, deps, session } = request;
  const kind = ctx.params.kind;
  const factor = isSecondFactorKind(kind) && deps.config.union.authMethods.includes(kind) ? SECOND_FACTORS[kind] : undefined;
  if (!factor || !isSecondFactorKind(kind)) return showLoginMethods(request, ['account.methods.error_not_found'], 404);
  const choose = ctx.query.choose === '1';
  const actionUrl = `/account/factors/${kind}/setup${choose ? '?choose=1' : ''}`;
  if (!requireRecentLogin(request, actionUrl)) return;
  // Adding a device needs the same proof as changing the address: else whoever reads the mailbox
  // adds their own app, logs in with it and takes the account over.
  if (!(await requireStrongFactorIfHeld(request, actionUrl, () => showLoginMethods(request, ['account.methods.error_strong_factor_add'], 403)))) return;
  const host = request.host(actionUrl);
  if (!body) return renderView(ctx, await factor.startSetup(host));
  const outcome = await factor.finishSetup(host, body);
  if (outcome.kind === 'show') return renderView(ctx, outcome.view);
  if (outcome.kind === 'locked') return showLoginMethods(request, ['login.error_locked'], 401);
  // The factor stored the device with its own event ('factor.<kind>_added', flow console) and
  // notice; choosing it as the login method is a second change with its own event and notice.
  await chooseNewDeviceAsMethod(deps, { member: session.member, kind, choose, ip: ctx.ip });
  ctx.status = 303;
  ctx.redirect(choose ? '/account?done=factor_added' : '/account/login-methods?done=added');
}

/** GET /account/factors/:kind/setup — the setup's first page. */
export const showFactorSetup = (request: AccountRequest): Promise<void> => factorSetup(request);

/**
 * POST /account/factors/:kind/setup — the factor's own form (it parses its fields); refused, the
 * setup's page again.
 */
export const factorSetupForm: FormSpec<AccountRequest, FormBody> = {
  schema: anyForm,
  submit: factorSetup,
  refused: (request) => {
    request.ctx.status = 303;
    request.ctx.redirect(request.ctx.url);
  },
};

/** POST /account/sessions/:uid/logout — ログアウト on one of ログイン中のデバイス (a button alone, no fields). */
export const sessionLogoutForm: FormSpec<AccountRequest, FormBody> = {
  schema: anyForm,
  submit: logoutSession,
  refused: (request) => showLoginMethods(request, ['login.error_session'], 400),
};
