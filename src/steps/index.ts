import { birthdateStep } from './birthdate.js';
import { termsStep } from './terms.js';
import { emailStep } from './email.js';
import { userIdAndMethodStep } from './user-id-and-method.js';
import { passwordStep } from './password.js';
import type { Step, StepName } from './types.js';

/** The step that serves each required action (the order is members/required-steps.ts). */
export const STEPS: Record<StepName, Step> = {
  birthdate: birthdateStep,
  terms: termsStep,
  email: emailStep,
  user_id_and_method: userIdAndMethodStep,
  password: passwordStep,
};

export type { Step, StepName, StepOutcome } from './types.js';
