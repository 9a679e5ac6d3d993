// Offers 生体認証 wherever this browser can use passkeys (WebAuthn): with the device's own sensor
// (Face ID, fingerprint …) or, on a PC without one, a phone's biometrics through the browser's QR
// code and Bluetooth flow (login manual, 「PCでのログインするとき」).
(() => {
  const available = window.isSecureContext && typeof PublicKeyCredential !== 'undefined' && typeof navigator.credentials?.create === 'function';
  if (!available) return;
  for (const el of document.querySelectorAll('[data-needs-webauthn]')) el.hidden = false;
  for (const el of document.querySelectorAll('[data-webauthn]')) el.value = 'yes';
})();
