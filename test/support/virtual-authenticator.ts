import type { BrowserContext, Page, CDPSession } from 'playwright-core';

/**
 * A passkey authenticator inside Chromium, through the DevTools Protocol's WebAuthn domain: a
 * platform authenticator ("internal" transport) with user verification that succeeds, keeping
 * discoverable credentials, as a phone's Face ID or a PC's Windows Hello would.
 */
export interface VirtualAuthenticator {
  session: CDPSession;
  authenticatorId: string;
  /** The credentials the authenticator holds (id in base64, user handle, sign count). */
  credentials(): Promise<{ credentialId: string; userHandle?: string; signCount: number; isResidentCredential: boolean }[]>;
  /** Makes the next ceremonies fail user verification (the member cancels Face ID), or succeed again. */
  setUserVerified(verified: boolean): Promise<void>;
  removeCredential(credentialId: string): Promise<void>;
  remove(): Promise<void>;
}

export async function addVirtualAuthenticator(context: BrowserContext, page: Page): Promise<VirtualAuthenticator> {
  const session = await context.newCDPSession(page);
  await session.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await session.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      ctap2Version: 'ctap2_1',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    session,
    authenticatorId,
    async credentials() {
      const { credentials } = await session.send('WebAuthn.getCredentials', { authenticatorId });
      return credentials;
    },
    async setUserVerified(verified) {
      await session.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: verified });
    },
    async removeCredential(credentialId) {
      await session.send('WebAuthn.removeCredential', { authenticatorId, credentialId });
    },
    async remove() {
      await session.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    },
  };
}
