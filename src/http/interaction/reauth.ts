import type { Context } from 'koa';
import { loginStore } from '../../members/login-store.js';
import { listCredentials } from '../../members/credentials.js';
import { passkeyAuthenticationOptions } from '../../factors/passkey/ceremony.js';
import { passkeyContext, storedPasskey } from '../../factors/passkey/relying-party.js';
import { ACCOUNT_CONSOLE_CLIENT_ID } from '../../oidc/provider.js';
import { applyMemberLocale } from '../middleware/locale.js';
import { passkeyLoginPath } from './passkey-login.js';
import type { Interaction, InteractionDeps } from './request.js';

/**
 * A fresh login asked of a browser that is already logged in (the console's prompt=login before a
 * sensitive change, a portal's max_age or prompt=login): 「続行するには再度認証してください」. Only the
 * member the session belongs to may give it; their user ID comes from the session, never the form.
 */
export interface Reauthentication {
  memberId: string;
  userId: string;
  /** Whether the session outlives the browser (ログイン状態の保存): a re-authentication keeps it so. */
  remember: boolean;
  /** Options for 「生体認証でログイン」 limited to this member's passkeys; undefined when there is none to offer. */
  passkeyOptions?: string;
  /** The console asked (「戻る」 goes back to it) rather than a portal (「ポータルに戻る」). */
  fromConsole: boolean;
}

/** The re-authentication this request belongs to, as `noteReauthentication` found it. */
export function reauthenticationOf(ctx: Context): Reauthentication | undefined {
  return ctx.state.reauth;
}

/** Notes on `ctx.state.reauth` whether this login page is a re-authentication of the session's member. */
export async function noteReauthentication(ctx: Context, deps: InteractionDeps, interaction: Interaction): Promise<void> {
  const accountId = interaction.session?.accountId;
  if (!accountId || interaction.prompt.name !== 'login') return;
  const member = await loginStore(deps).currentMember(accountId);
  if (!member) return;
  applyMemberLocale(ctx, member.locale);
  const session = await deps.provider.Session.get(ctx as never).catch(() => undefined);
  const passkeys = deps.config.union.passkeys.passkeyOnlyLogin ? await listCredentials(deps.orm.em.fork(), member.id, 'passkey') : [];
  const passkeyOptions = passkeys.length
    ? JSON.stringify(await passkeyAuthenticationOptions(passkeyContext(deps.config, passkeyLoginPath(interaction.uid)), passkeys.map(storedPasskey)))
    : undefined;
  const reauth: Reauthentication = {
    memberId: member.id,
    userId: member.userId,
    remember: session ? !session.transient : false,
    passkeyOptions,
    fromConsole: interaction.params.client_id === ACCOUNT_CONSOLE_CLIENT_ID,
  };
  ctx.state.reauth = reauth;
}
