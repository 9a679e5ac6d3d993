import type { Step } from './types.js';

/** 利用規約への同意: first login, and again whenever the configured version is newer (3-9). */
export const termsStep: Step = {
  name: 'terms',
  async show(host) {
    return {
      view: 'step-terms',
      vars: { actionUrl: host.actionUrl, termsText: host.deps.config.terms.text[host.locale], updated: host.member.termsVersion !== null },
    };
  },
  async submit(host, body) {
    const version = host.deps.config.terms.version;
    if (body.decision !== 'agree') {
      await host.deps.audit.record(host.member.id, 'terms.declined', { version }, host.ip);
      return { kind: 'declined' };
    }
    await host.deps.changes.acceptTerms({ memberId: host.member.id, version, ip: host.ip });
    return { kind: 'done' };
  },
};
