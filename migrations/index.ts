import { Migration20261122000000_foundation } from './Migration20261122000000_foundation.js';

/** Every migration, in order. Landed migrations are never edited: add a new one. */
export const migrationsList = [
  { name: 'Migration20261122000000_foundation', class: Migration20261122000000_foundation },
];
