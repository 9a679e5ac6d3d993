import { inTransaction } from '../../db/unit-of-work.js';
import { sendSecurityNotice } from '../../mail/security-notice.js';
import { issueRecoveryCodes } from '../recovery-codes.js';
import type { ChangeDeps, NoticeMember } from './deps.js';

/**
 * 「発行」/「再発行」: a new set replaces the old one, with its event; the notice follows the commit.
 * `trustAcr`: what the codes are worth at login (no more than the session that issued them).
 */
export async function issueNewRecoveryCodes(deps: ChangeDeps, change: { member: NoticeMember; trustAcr: string | null; ip: string }): Promise<string[]> {
  const { member, trustAcr, ip } = change;
  const codes = await inTransaction(deps.orm, (work) => issueRecoveryCodes(work, deps.config, member.id, ip, trustAcr));
  await sendSecurityNotice(deps, member, 'recovery_codes_issued');
  return codes;
}
