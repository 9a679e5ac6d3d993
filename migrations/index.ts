import { Migration20261122000000_foundation } from './Migration20261122000000_foundation.js';
import { Migration20261122000200_onboarding } from './Migration20261122000200_onboarding.js';
import { Migration20261122000300_recovery } from './Migration20261122000300_recovery.js';
import { Migration20261122000100_dev_mail } from './Migration20261122000100_dev_mail.js';
import { Migration20261125000000_credentials } from './Migration20261125000000_credentials.js';
import { Migration20261125000100_session_device } from './Migration20261125000100_session_device.js';
import { Migration20261125000200_recovery_codes } from './Migration20261125000200_recovery_codes.js';
import { Migration20261125000300_dev_mail_sender } from './Migration20261125000300_dev_mail_sender.js';
import { Migration20261125010000_hardening } from './Migration20261125010000_hardening.js';
import { Migration20261126015756_recovery_code_key_id } from './Migration20261126015756_recovery_code_key_id.js';
import { Migration20261206000000_factor_trust } from './Migration20261206000000_factor_trust.js';
import { Migration20261206010000_email_spelling } from './Migration20261206010000_email_spelling.js';
import { Migration20261206144356_society_isolation } from './Migration20261206144356_society_isolation.js';
import { Migration20261206171500_backchannel_logout } from './Migration20261206171500_backchannel_logout.js';
import { Migration20261206172003_signing_key_schedule } from './Migration20261206172003_signing_key_schedule.js';

/** Every migration, in order. Landed migrations are never edited: add a new one. */
export const migrationsList = [
  { name: 'Migration20261122000000_foundation', class: Migration20261122000000_foundation },
  { name: 'Migration20261122000200_onboarding', class: Migration20261122000200_onboarding },
  { name: 'Migration20261122000100_dev_mail', class: Migration20261122000100_dev_mail },
  { name: 'Migration20261122000300_recovery', class: Migration20261122000300_recovery },
  { name: 'Migration20261125000000_credentials', class: Migration20261125000000_credentials },
  { name: 'Migration20261125000100_session_device', class: Migration20261125000100_session_device },
  { name: 'Migration20261125000200_recovery_codes', class: Migration20261125000200_recovery_codes },
  { name: 'Migration20261125000300_dev_mail_sender', class: Migration20261125000300_dev_mail_sender },
  { name: 'Migration20261125010000_hardening', class: Migration20261125010000_hardening },
  { name: 'Migration20261126015756_recovery_code_key_id', class: Migration20261126015756_recovery_code_key_id },
  { name: 'Migration20261206000000_factor_trust', class: Migration20261206000000_factor_trust },
  { name: 'Migration20261206010000_email_spelling', class: Migration20261206010000_email_spelling },
  { name: 'Migration20261206144356_society_isolation', class: Migration20261206144356_society_isolation },
  { name: 'Migration20261206171500_backchannel_logout', class: Migration20261206171500_backchannel_logout },
  { name: 'Migration20261206172003_signing_key_schedule', class: Migration20261206172003_signing_key_schedule },
];
