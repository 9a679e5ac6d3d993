import { Migration } from '@mikro-orm/migrations';

/**
 * One spelling for the mailed-code factor: `email`, as its credential kind and config name already
 * were. Stored names written as `email_otp` / `email-otp` follow, so the audit trail, codes in flight
 * and counters in their window read the same after the upgrade. (The code's MAC label is unchanged:
 * src/factors/email/codes.ts.)
 */
export class Migration20261206010000_email_spelling extends Migration {
  override name = 'Migration20261206010000_email_spelling';

  override up(): void {
    this.addSql(`update member_event set type = 'login.email_' || substr(type, length('login.email_otp_') + 1) where type like 'login.email\\_otp\\_%'`);
    this.addSql(`update one_time_code set purpose = 'email' where purpose = 'email_otp'`);
    this.addSql(`update rate_limit set bucket = 'email-' || substr(bucket, length('email-otp-') + 1) where bucket like 'email-otp-%'`);
  }

  override down(): void {
    this.addSql(
      `update rate_limit set bucket = 'email-otp-' || substr(bucket, length('email-') + 1) where bucket like 'email-send:%' or bucket like 'email-hour:%'`,
    );
    this.addSql(`update one_time_code set purpose = 'email_otp' where purpose = 'email'`);
    this.addSql(
      `update member_event set type = 'login.email_otp_' || substr(type, length('login.email_') + 1) where type in ('login.email_ok', 'login.email_wrong', 'login.email_resent')`,
    );
  }
}
