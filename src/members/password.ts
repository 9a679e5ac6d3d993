import bcrypt from 'bcrypt';
import { constantTimeEqual } from '../crypto.js';
import { deriveInitialPassword } from './initial-password.js';
import { BCRYPT_MAX_BYTES } from './password-policy.js';
import { countPasswordValidation } from '../ops/metrics.js';
import { inSpan } from '../ops/tracing.js';

export interface PasswordHolder {
  /** The bcrypt hash of the member's own password; null while the initial password is in force. */
  passwordHash: string | null;
  insuranceSymbol: string;
  insuranceNumber: string;
  birthdate: string;
}

export class PasswordHasher {
  private dummyHash: string;

  constructor(private readonly cost: number) {
    // Compared against when there is no real hash to check, so every attempt costs one bcrypt.
    this.dummyHash = bcrypt.hashSync('kosmo-idp timing equaliser', cost);
  }

  hash(password: string): Promise<string> {
    return inSpan('bcrypt.hash', { 'bcrypt.cost': this.cost }, () => bcrypt.hash(password, this.cost));
  }

  /**
   * Verifies a password for a member, or for nobody (`holder` undefined), always spending one
   * bcrypt comparison so that the answer's timing does not tell whether the user ID exists.
   */
  async verify(holder: PasswordHolder | undefined, password: string): Promise<boolean> {
    const valid = await inSpan('bcrypt.compare', { 'bcrypt.cost': this.cost }, () => this.compare(holder, password));
    countPasswordValidation(valid ? 'valid' : 'invalid');
    return valid;
  }

  private async compare(holder: PasswordHolder | undefined, password: string): Promise<boolean> {
    // No password over bcrypt's 72 bytes is ever set (password-policy.ts); one typed at login would
    // otherwise match on its first 72 bytes alone.
    if (holder?.passwordHash) return (await bcrypt.compare(password, holder.passwordHash)) && Buffer.byteLength(password, 'utf8') <= BCRYPT_MAX_BYTES;
    await bcrypt.compare(password, this.dummyHash);
    if (!holder) return false;
    return constantTimeEqual(password, deriveInitialPassword(holder));
  }

  /** Spends the time of one verification without checking anything (locked accounts). */
  async equaliseTiming(password: string): Promise<void> {
    await inSpan('bcrypt.compare', { 'bcrypt.cost': this.cost }, () => bcrypt.compare(password, this.dummyHash));
  }
}

/** The member's password as the login checks it: their own bcrypt hash, or the derived initial one. */
export const PASSWORD_HOLDER_COLUMNS = `c.secret as "passwordHash", m.insurance_symbol as "insuranceSymbol", m.insurance_number as "insuranceNumber",
  to_char(m.birthdate, 'YYYY-MM-DD') as birthdate`;
export const PASSWORD_CREDENTIAL_JOIN = `left join credential c on c.member_id = m.id and c.kind = 'password'`;
