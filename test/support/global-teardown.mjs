import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  const server = globalThis.__kosmoPostgres;
  await server?.stop();
  if (globalThis.__kosmoStateDir) rmSync(globalThis.__kosmoStateDir, { recursive: true, force: true });
  // Run as root from a private folder, the data lived under /var/lib/kosmo-idp (src/db/embedded.ts).
  if (server?.dataDir && !server.dataDir.startsWith(globalThis.__kosmoStateDir ?? '\0')) rmSync(server.dataDir, { recursive: true, force: true });
}
