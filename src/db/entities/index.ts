import { MemberSchema } from './member.js';
import { CredentialSchema } from './credential.js';
import { OneTimeCodeSchema } from './one-time-code.js';
import { MemberEventSchema } from './member-event.js';
import { RecoveryCodeSchema } from './recovery-code.js';

export { Member } from './member.js';
export { Credential, CREDENTIAL_KINDS, type CredentialKind } from './credential.js';
export { OneTimeCode } from './one-time-code.js';
export { MemberEvent } from './member-event.js';
export { RecoveryCode } from './recovery-code.js';
/** The tables the application changes through the unit of work. */
export const entities = [MemberSchema, CredentialSchema, OneTimeCodeSchema, MemberEventSchema, RecoveryCodeSchema];
