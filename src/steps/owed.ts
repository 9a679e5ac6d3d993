import type { Member } from '../db/entities/index.js';
import { STEP_ORDER, type StepName } from './types.js';

/**
 * What the member still owes, in the manual's order: the required actions stored on the member,
 * plus re-consent whenever the configured terms are newer than the version they accepted.
 */
export function owedSteps(member: Pick<Member, 'pendingSteps' | 'termsVersion'>, currentTermsVersion: string): StepName[] {
  const owed = new Set<string>(member.pendingSteps);
  if (member.termsVersion !== currentTermsVersion) owed.add('terms');
  return STEP_ORDER.filter((s) => owed.has(s));
}

export function withoutStep(member: Member, step: StepName): void {
  member.pendingSteps = member.pendingSteps.filter((s) => s !== step);
}
