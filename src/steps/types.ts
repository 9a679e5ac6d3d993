import type { Host, View } from '../flow/host.js';
import type { StepName } from '../members/required-steps.js';
import type { PostedForm } from '../flow/form.js';

/** What a submission led to: the step is done, a page to show (an error, the next screen), or the login ends. */
export type StepOutcome = { kind: 'done' } | { kind: 'show'; view: View } | { kind: 'locked' } | { kind: 'declined' };

/** One required action. It gets a Host and returns what to show; it never sees HTTP. */
export interface Step {
  name: StepName;
  show(host: Host): Promise<View>;
  submit(host: Host, body: PostedForm): Promise<StepOutcome>;
}

export const show = (view: View): StepOutcome => ({ kind: 'show', view });
export type { Host, View, StepName };
