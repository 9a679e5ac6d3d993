import { birthdateStep } from './birthdate.js';
import { termsStep } from './terms.js';
import { emailStep } from './email.js';
import { userIdAndMethodStep } from './user-id-and-method.js';
import { passwordStep } from './password.js';
import type { Step, StepName } from './types.js';

/** Every step a member may owe after authenticating, in the order they are asked. */
export const STEPS: Record<StepName, Step> = {
  birthdate: birthdateStep,
  terms: termsStep,
  email: emailStep,
  user_id_and_method: userIdAndMethodStep,
  password: passwordStep,
};

export { owedSteps } from './owed.js';
export type { Step, StepName, StepDeps, MailSender } from './types.js';
