import type { Host, View } from '../types.js';

/** The manual's screen after a cancelled ceremony: 「再試行してください」 starts it again. */
export function retryView(host: Host, retryUrl = host.actionUrl): View {
  return { view: 'factor-passkey-retry', status: 200, vars: { retryUrl } };
}

/** FAQ Q16: 「セキュリティキーの登録が無効です」 — the passkey offered is not one we know (deleted, another device's). */
export function invalidRegistrationView(host: Host, retryUrl = host.actionUrl): View {
  return { view: 'factor-passkey-invalid', status: 400, vars: { retryUrl } };
}

/**
 * A passkey whose sign counter did not grow (WebAuthn §6.1.1: possibly a cloned authenticator): its
 * own screen, not FAQ Q16's password-manager checks, which have nothing to do with it.
 */
export function counterView(host: Host, retryUrl = host.actionUrl): View {
  return { view: 'factor-passkey-counter', status: 400, vars: { retryUrl } };
}
