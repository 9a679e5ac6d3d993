import { render } from '../http/render.js';
import { recordMemberEvent } from '../members/events.js';
import { Member } from '../db/entities/index.js';
import { withoutStep } from './owed.js';
import type { Step } from './types.js';

/** 利用規約への同意: first login, and again whenever the configured version is newer (3-9). */
export const termsStep: Step = {
  name: 'terms',
  async show(run) {
    const locale = run.ctx.state.locale as 'ja' | 'en';
    render(run.ctx, 'step-terms', {
      actionUrl: run.actionUrl,
      termsText: run.deps.config.terms.text[locale],
      updated: run.member.termsVersion !== null,
    });
  },
  async submit(run, body) {
    if (body.decision !== 'agree') {
      await recordMemberEvent(run.deps.sql, run.member.id, 'terms.declined', { version: run.deps.config.terms.version }, run.ctx.ip);
      return { kind: 'declined' };
    }
    const em = run.deps.orm.em.fork();
    const member = await em.findOneOrFail(Member, { id: run.member.id });
    member.termsVersion = run.deps.config.terms.version;
    member.termsAcceptedAt = new Date();
    withoutStep(member, 'terms');
    await em.flush();
    await recordMemberEvent(run.deps.sql, member.id, 'terms.accepted', { version: run.deps.config.terms.version }, run.ctx.ip);
    return { kind: 'done' };
  },
};
