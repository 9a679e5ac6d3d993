// Offers 生体認証 only when this browser reports a platform authenticator (Face ID, fingerprint …).
(async () => {
  const available = typeof PublicKeyCredential !== 'undefined'
    && typeof PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable === 'function'
    && await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable().catch(() => false);
  if (!available) return;
  for (const el of document.querySelectorAll('[data-needs-platform-authenticator]')) el.hidden = false;
  for (const el of document.querySelectorAll('[data-platform-authenticator]')) el.value = 'yes';
})();
