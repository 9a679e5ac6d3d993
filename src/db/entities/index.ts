import { MemberSchema } from './member.js';

export { Member } from './member.js';
export const entities = [MemberSchema];
