import { ACR_RECOVERY_CODE } from '../acr.js';
import type { ProofFactor } from '../types.js';
import { RECOVERY_CODE_AMR, recoveryCodePage, verifyRecoveryCode } from './login.js';

/**
 * リカバリーコード: one of the printed codes in place of the second factor (a lost phone). Issued
 * from the console, never set up inside a login, so it is a proof only.
 */
export const recoveryCodeFactor: ProofFactor = {
  kind: 'recovery_code',
  amr: [RECOVERY_CODE_AMR],
  acr: ACR_RECOVERY_CODE,
  async challenge(host) {
    return recoveryCodePage(host);
  },
  verify: verifyRecoveryCode,
};
