import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TEST_CLIENT } from './idp.js';
import type { TestDatabase } from './database.js';

/** The keys of `startTestIdp`: a process started with them reads what a test provider sealed (the members' TOTP secrets). */
export const TEST_PROCESS_SECRETS = {
  COOKIE_KEYS: 'test-cookie-key-0123456789abcdefghijklmnop',
  SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
};

/** The repository's config/ copied to `dir/config`, with the test portal (TEST_CLIENT) as kosmo's only client. */
export function testProcessConfig(dir: string): string {
  const configDir = path.join(dir, 'config');
  cpSync(path.resolve('config'), configDir, { recursive: true });
  writeFileSync(
    path.join(configDir, 'societies', 'kosmo', 'clients.json'),
    JSON.stringify([
      {
        client_id: TEST_CLIENT.id,
        client_name: 'Test portal',
        client_secret: TEST_CLIENT.secret,
        redirect_uris: [TEST_CLIENT.redirect],
        post_logout_redirect_uris: [TEST_CLIENT.postLogout],
        scope: 'openid offline_access profile email',
      },
    ]),
  );
  return configDir;
}

export interface IdpProcess {
  name: string;
  port: number;
  managementPort: number;
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  exited(): Promise<number | null>;
}

/**
 * `src/main.ts` in a process of its own, as a deployment runs it, on the test database: resolves
 * once its management port says it is ready. `env` adds to (or overrides) the test settings.
 */
export async function startIdpProcess(options: {
  name: string;
  port: number;
  managementPort: number;
  db: TestDatabase;
  dir: string;
  configDir: string;
  env?: Record<string, string>;
}): Promise<IdpProcess> {
  let output = '';
  const child = spawn(path.resolve('node_modules/.bin/node'), ['--import', 'tsx', 'src/main.ts'], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      PORT: String(options.port),
      MANAGEMENT_PORT: String(options.managementPort),
      HOST: '127.0.0.1',
      DATABASE_URL: options.db.url,
      MIGRATION_DATABASE_URL: options.db.ownerUrl,
      CONFIG_DIR: options.configDir,
      DATA_DIR: path.join(options.dir, `data-${options.name}`),
      ...TEST_PROCESS_SECRETS,
      SMTP_URL: 'smtp://127.0.0.1:1',
      BCRYPT_COST: '4',
      LOG_LEVEL: 'warn',
      DEMO_PORTAL: 'false',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started: IdpProcess = {
    name: options.name,
    port: options.port,
    managementPort: options.managementPort,
    child,
    output: () => output,
    exited: () => exit,
  };
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${options.name} exited (${child.exitCode}): ${output}`);
    const ready = await fetch(`http://127.0.0.1:${options.managementPort}/health/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return started;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${options.name} not ready within 30 s: ${output}`);
}
