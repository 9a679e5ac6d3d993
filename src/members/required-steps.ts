import type { Member } from '../db/entities/index.js';

/**
 * What a member may still owe after authenticating, in the manual's order (Keycloak's required
 * actions). The one list: provisioning, the login pipeline and the step routes all read it.
 */
export const STEP_ORDER = ['birthdate', 'terms', 'email', 'user_id_and_method', 'password'] as const;
export type StepName = (typeof STEP_ORDER)[number];

/** Every provisioned member owes all of them at first login. */
export const FIRST_LOGIN_STEPS: readonly StepName[] = STEP_ORDER;

export function isStepName(name: string | undefined): name is StepName {
  return (STEP_ORDER as readonly string[]).includes(name ?? '');
}

/**
 * What the member still owes, in order: the required actions stored on the member, plus
 * re-consent whenever the configured terms are newer than the version they accepted.
 */
export function owedSteps(member: Pick<Member, 'pendingSteps' | 'termsVersion'>, currentTermsVersion: string): StepName[] {
  const owed = new Set<string>(member.pendingSteps);
  if (member.termsVersion !== currentTermsVersion) owed.add('terms');
  return STEP_ORDER.filter((s) => owed.has(s));
}

export function withoutStep(member: Pick<Member, 'pendingSteps'>, step: StepName): void {
  member.pendingSteps = member.pendingSteps.filter((s) => s !== step);
}
