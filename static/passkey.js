// Passkey ceremonies for our forms: the browser's answer travels in a hidden field of an ordinary
// form post, so the server decides what comes next exactly as for any other form.
(() => {
  const lib = window.SimpleWebAuthnBrowser;
  if (!lib?.browserSupportsWebAuthn()) return;

  const run = (mode, options, autofill) =>
    mode === 'register' ? lib.startRegistration({ optionsJSON: options }) : lib.startAuthentication({ optionsJSON: options, useBrowserAutofill: autofill });

  // 登録 / 次へ: one ceremony; a cancelled or failed one is posted too, so the server shows the retry page.
  for (const form of document.querySelectorAll('form[data-passkey]')) {
    const button = form.querySelector('[data-passkey-button]');
    const options = JSON.parse(form.dataset.options);
    if (button) button.disabled = false;
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (button) button.disabled = true;
      try {
        form.elements.response.value = JSON.stringify(await run(form.dataset.passkey, options, false));
      } catch (err) {
        form.elements.failure.value = String(err?.name || 'Error').slice(0, 64);
      }
      form.submit();
    });
  }

  // The login page: passkeys offered in the user-ID field's autofill, and 「生体認証でログイン」.
  const login = document.querySelector('form[data-passkey-login]');
  if (!login) return;
  const options = JSON.parse(login.dataset.options);
  const finish = (result) => {
    login.elements.response.value = JSON.stringify(result);
    const remember = document.querySelector('input[name=remember]');
    login.elements.remember.value = remember?.checked ? 'on' : '';
    login.submit();
  };
  const button = document.querySelector('[data-passkey-login-button]');
  for (const el of document.querySelectorAll('[data-passkey-login-only]')) el.hidden = false;
  if (button) {
    button.addEventListener('click', () => {
      // Starting a modal ceremony aborts the pending autofill one (SimpleWebAuthn's abort service).
      run('authenticate', options, false).then(finish, () => {});
    });
  }
  // 「続行するには再度認証してください」 offers only the member's own passkeys, never in an autofill list.
  if (login.dataset.autofill === 'off') return;
  lib.browserSupportsWebAuthnAutofill().then((supported) => {
    if (supported) run('authenticate', options, true).then(finish, () => {});
  });
})();
