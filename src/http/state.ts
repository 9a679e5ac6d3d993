import type { Locale, Messages, Translator } from '../i18n/index.js';
import type { Reauthentication } from './interaction/reauth.js';

/**
 * What our middleware puts on `ctx.state`, typed for every handler (no casts): the language and its
 * translator (middleware/locale.ts), the CSRF token and its check (middleware/csrf.ts), the CSP nonce
 * (middleware/security-headers.ts) and what the login and console pages note for their rendering.
 */
export interface PageStateFields {
  /** The translator of the page's language. */
  t: Translator['t'];
  locale: Locale;
  messages: Messages;
  /** The member or this browser chose the language (`?lang=`, the cookie). */
  localeChosen: boolean;
  /** The portal's `ui_locales` decided the language. */
  uiLocalesApplied?: boolean;
  /** The union's name in the page's language, and in both. */
  unionName: string;
  unionNames: { ja: string; en: string };
  /** This browser's CSRF token for the forms of the page (made when first read). */
  csrfToken: string;
  /** Whether a posted token is this browser's (only src/http/form.ts asks). */
  csrfValid(submitted: unknown): boolean;
  cspNonce: string;
  /** The login page is a re-authentication of the session's member (interaction/reauth.ts). */
  reauth?: Reauthentication;
  /** The login page offers passkeys: the options for its interaction (interaction/passkey-login.ts). */
  passkeyLoginOptions?: (uid: string) => string;
  /** The society's look (society-look.ts): its name in the header, and whether it has a stylesheet and a logo of its own. */
  look?: { headerName: { ja: string; en: string }; stylesheet: boolean; logo: boolean };
  /** A cookie's name for the society this request is for (societyCookie in src/config). */
  cookieName(name: string): string;
  /** The society's path on a shared host (`/sakura`), '' or unset at a host of its own (src/http/front.ts). */
  basePath?: string;
  /** A console page refused for a weak session offers this step-up (account/request.ts). */
  stepUpUrl?: string;
}

declare module 'koa' {
  interface DefaultState extends PageStateFields {}
}
