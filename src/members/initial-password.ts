/**
 * The initial password the union hands out: 記号 + 番号 + 生年月日 (YYYYMMDD).
 * Symbol 12, number 3456789, born 1980-12-01 gives 12345678919801201.
 *
 * It is derived from data the database already holds, so hashing it would add no secrecy and
 * would cost one bcrypt per provisioned member. It is recomputed at login instead, until the
 * member sets a password of their own.
 */
export function deriveInitialPassword(member: { insuranceSymbol: string; insuranceNumber: string; birthdate: string }): string {
  return `${member.insuranceSymbol}${member.insuranceNumber}${member.birthdate.replaceAll('-', '')}`;
}
