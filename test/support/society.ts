import { it } from '@jest/globals';
import { DEFAULT_SOCIETY, withSociety } from '../../src/db/society.js';

/**
 * `it`, with the test run for the default society as a request to the server is (src/db/society.ts):
 * for tests that call flows, factors and changes directly. Outside a society those see no rows and
 * cannot insert any.
 */
export function itInSociety(name: string, fn: () => Promise<unknown>, timeout?: number): void {
  it(name, () => withSociety(DEFAULT_SOCIETY, fn), timeout);
}
