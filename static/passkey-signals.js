// Tells the browser's passkey manager what is true now (WebAuthn Level 3 signal API), so it stops
// offering a deleted passkey or an old user ID. Browsers without the API ignore this.
(() => {
  var el = document.querySelector('[data-passkey-signals]');
  if (!el || typeof PublicKeyCredential === 'undefined') return;
  var rpId = el.getAttribute('data-rp-id');
  var userId = el.getAttribute('data-user-id');
  var ids = JSON.parse(el.getAttribute('data-credential-ids') || '[]');
  if (typeof PublicKeyCredential.signalAllAcceptedCredentials === 'function') {
    PublicKeyCredential.signalAllAcceptedCredentials({ rpId: rpId, userId: userId, allAcceptedCredentialIds: ids }).catch(() => {});
  }
  if (typeof PublicKeyCredential.signalCurrentUserDetails === 'function') {
    PublicKeyCredential.signalCurrentUserDetails({
      rpId: rpId,
      userId: userId,
      name: el.getAttribute('data-name'),
      displayName: el.getAttribute('data-display-name'),
    }).catch(() => {});
  }
})();
