import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  await globalThis.__kosmoPostgres?.stop();
  if (globalThis.__kosmoStateDir) rmSync(globalThis.__kosmoStateDir, { recursive: true, force: true });
}
