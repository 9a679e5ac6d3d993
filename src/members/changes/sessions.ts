import { inTransaction } from '../../db/unit-of-work.js';
import { announceQueuedLogouts } from '../../oidc/backchannel-outbox.js';
import { revokeSessionOfMember } from '../../oidc/revoke.js';
import { recordMemberEvent } from '../events.js';
import type { ChangeDeps } from './deps.js';

/**
 * ログアウト of one of the member's sessions: it, the grants and tokens issued under it and the device
 * it was seen on end together, with the portals' back-channel logout tokens queued and the event when
 * there was a session to end. How many rows ended.
 */
export async function endSession(
  deps: Pick<ChangeDeps, 'orm'>,
  change: { memberId: string; sessionUid: string; current: boolean; ip: string },
): Promise<number> {
  const { memberId, sessionUid, current, ip } = change;
  const ended = await inTransaction(deps.orm, async ({ sql: tx }) => {
    const count = await revokeSessionOfMember(tx, memberId, sessionUid);
    await tx.run('delete from session_device where session_uid = $1 and member_id = $2', [sessionUid, memberId]);
    if (count > 0) await recordMemberEvent(tx, memberId, 'account.session_ended', { current }, ip);
    return count;
  });
  // The portals the session was used with get their logout tokens (queued with the change).
  announceQueuedLogouts();
  return ended;
}
