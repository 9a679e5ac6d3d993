import { listMemberSessions } from '../../members/sessions.js';
import { endSession } from '../../members/changes/sessions.js';
import { describeUserAgent } from './user-agent.js';
import type { AccountRequest } from './request.js';

/** ログイン中のデバイス: where the member is logged in, for the ログイン方法 page. */
export async function sessionsOfMember(request: AccountRequest) {
  const sessions = await listMemberSessions(request.deps.sql, request.session.member.id);
  return sessions.map((s) => ({ ...s, current: s.uid === request.session.sessionUid, agent: describeUserAgent(s.userAgent) }));
}

const UID = /^[A-Za-z0-9_-]{10,64}$/;

/** Ends that session and the tokens issued under it. */
export async function logoutSession(request: AccountRequest): Promise<void> {
  const { ctx, deps, session } = request;
  const uid = String(ctx.params.uid ?? '');
  if (!UID.test(uid)) {
    ctx.status = 303;
    return ctx.redirect('/account/login-methods');
  }
  const ended = await endSession(deps, { memberId: session.member.id, sessionUid: uid, current: uid === session.sessionUid, ip: ctx.ip });
  ctx.status = 303;
  // Ending this browser's own session is logging out here: the portal's login page follows.
  ctx.redirect(uid === session.sessionUid ? '/account' : `/account/login-methods?done=${ended > 0 ? 'session_ended' : 'removed'}#sessions`);
}
