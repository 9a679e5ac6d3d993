import { z } from 'zod';

/**
 * One text field of a posted form as it arrives: a string cut to `max` characters, and anything else
 * (an array, a missing field) read as empty, so a tampered body parses instead of throwing. Every
 * form — a console page's, a factor's, a step's — is a `z.object` of these, declared beside the code
 * that reads it.
 */
export const field = (max: number) => z.preprocess((v) => (typeof v === 'string' ? v.slice(0, max) : ''), z.string());

/** What a factor or step is posted: whatever the page's form held (the factor parses its own fields). */
export type PostedForm = Record<string, unknown>;
