import type { Step } from './types.js';
import { z } from 'zod';
import { field } from '../flow/form.js';

/** 利用規約への同意: first login, and again whenever the configured version is newer (3-9). */
/** 利用規約's form: 同意する (`agree`) or 同意しない. */
const termsForm = z.object({ decision: field(16) });

export const termsStep: Step = {
  name: 'terms',
  async show(host) {
    return {
      view: 'step-terms',
      vars: { actionUrl: host.actionUrl, termsText: host.deps.config.terms.text[host.locale], updated: host.member.termsVersion !== null },
    };
  },
  async submit(host, posted) {
    const body = termsForm.parse(posted);
    const version = host.deps.config.terms.version;
    if (body.decision !== 'agree') {
      await host.deps.audit.record(host.member.id, 'terms.declined', { version }, host.ip);
      return { kind: 'declined' };
    }
    await host.deps.changes.acceptTerms({ memberId: host.member.id, version, ip: host.ip });
    return { kind: 'done' };
  },
};
