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

/**
 * The browser refused the registration because this authenticator already holds one of the
 * member's passkeys (`excludeCredentials`, InvalidStateError): 「この端末はすでに登録されています」,
 * with the two ways on: another device (a phone through the QR code), or delete the old one first.
 */
export function alreadyRegisteredView(host: Host, retryUrl = host.actionUrl): View {
  return {
    view: 'factor-passkey-registered',
    status: 409,
    vars: { retryUrl, loginMethodsUrl: host.flow === 'console' ? '/account/login-methods' : undefined },
  };
}
