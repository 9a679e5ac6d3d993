import { describe, it, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { envSchema } from '../../src/config/env.js';

/** Issue 21: the Kubernetes manifests (deploy/kubernetes) and docker-compose.yml, as a cluster or compose would read them. */
type Manifest = { kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: Record<string, unknown> } & Record<string, unknown>;
interface Container {
  name: string;
  ports: { name: string; containerPort: number }[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface Probe {
  httpGet: { path: string; port: string | number };
}

const DIR = 'deploy/kubernetes';
const manifests: Manifest[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .flatMap((f) =>
    parseAllDocuments(readFileSync(path.join(DIR, f), 'utf8')).map((doc) => {
      expect(doc.errors).toEqual([]);
      return doc.toJS() as Manifest;
    }),
  );
const ofKind = (kind: string) => manifests.filter((m) => m.kind === kind);
const deployment = ofKind('Deployment')[0]!;
const podSpec = (deployment.spec as { template: { spec: { containers: Container[]; terminationGracePeriodSeconds: number } } }).template.spec;
const container = podSpec.containers[0]!;
const managementPort = container.ports.find((p) => p.name === 'management')!;

/** Settings whose values are secrets: they come from a Secret, never written in a manifest. */
const SECRET_SETTINGS = ['DATABASE_URL', 'MIGRATION_DATABASE_URL', 'COOKIE_KEYS', 'SECRETS_KEY', 'SECRETS_KEY_PREVIOUS', 'SMTP_URL'];

describe('the Kubernetes manifests (deploy/kubernetes)', () => {
  it('lists every manifest in its kustomization', () => {
    const kustomization = parse(readFileSync(path.join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect(kustomization.resources.sort()).toEqual(
      readdirSync(DIR)
        .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
        .sort(),
    );
  });

  it('has a Deployment of at least two replicas whose three probes ask the management port', () => {
    expect((deployment.spec as { replicas: number }).replicas).toBeGreaterThanOrEqual(2);
    expect(managementPort.containerPort).toBe(envSchema.parse({}).MANAGEMENT_PORT);
    expect(container.env.find((e) => e.name === 'MANAGEMENT_PORT')?.value).toBe(String(managementPort.containerPort));
    const probes = { startup: container.startupProbe, liveness: container.livenessProbe, readiness: container.readinessProbe };
    expect(Object.fromEntries(Object.entries(probes).map(([k, p]) => [k, p?.httpGet]))).toEqual({
      startup: { path: '/health/started', port: 'management' },
      liveness: { path: '/health/live', port: 'management' },
      readiness: { path: '/health/ready', port: 'management' },
    });
  });

  it('gives the container resources, and a grace period longer than its shutdown', () => {
    expect(container.resources?.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources?.limits).toMatchObject({ memory: expect.any(String) });
    const setting = (name: string) => Number(container.env.find((e) => e.name === name)?.value);
    expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThan(setting('SHUTDOWN_DELAY_SECONDS') + setting('SHUTDOWN_TIMEOUT_SECONDS'));
  });

  it('keeps at least one replica through voluntary disruptions (a PodDisruptionBudget on its pods)', () => {
    const pdb = ofKind('PodDisruptionBudget')[0]!;
    const selector = (pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    expect((pdb.spec as { minAvailable?: number }).minAvailable).toBeGreaterThanOrEqual(1);
    const podLabels = (deployment.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
    expect(podLabels).toMatchObject(selector);
  });

  it('has a Service for the management port apart from the public one', () => {
    const services = ofKind('Service').map((s) => (s.spec as { ports: { port: number; targetPort: string }[] }).ports.map((p) => p.targetPort));
    expect(services).toEqual(expect.arrayContaining([['http'], ['management']]));
  });

  it('writes no secret in plain text: secret settings come from the Secret, which holds no value', () => {
    for (const name of SECRET_SETTINGS) {
      const entry = container.env.find((e) => e.name === name);
      if (entry) expect([name, entry.value, entry.valueFrom?.secretKeyRef?.name]).toEqual([name, undefined, 'kosmo-idp']);
    }
    expect(container.env.filter((e) => e.valueFrom?.secretKeyRef).length).toBeGreaterThanOrEqual(4);
    for (const secret of ofKind('Secret')) {
      const values = { ...(secret.data as Record<string, string>), ...(secret.stringData as Record<string, string>) };
      expect(Object.entries(values).filter(([, v]) => v !== '')).toEqual([]);
    }
    const text = readdirSync(DIR)
      .map((f) => readFileSync(path.join(DIR, f), 'utf8'))
      .join('\n')
      .split('\n')
      .filter((line) => !line.trim().startsWith('#'))
      .join('\n');
    // No credentials in a URL, no private key, no long random-looking string.
    expect(text).not.toMatch(/:\/\/[^/\s:@]+:[^/\s@]+@/);
    expect(text).not.toMatch(/PRIVATE KEY|"d"\s*:/);
    expect(text).not.toMatch(/[A-Za-z0-9+/_-]{32,}={0,2}/);
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
    services: Record<string, { image?: string; environment?: Record<string, string>; ports?: string[]; healthcheck?: { test: string[] }; volumes?: string[] }>;
  };

  it('runs two provider replicas behind HAProxy, which alone is published and health-checks their management port', () => {
    const replicas = Object.entries(compose.services).filter(([, s]) => s.environment?.MANAGEMENT_PORT);
    expect(replicas.map(([name]) => name)).toEqual(['idp1', 'idp2']);
    for (const [, replica] of replicas) {
      expect(replica.ports).toBeUndefined();
      expect(replica.healthcheck?.test.join(' ')).toContain(`:${replica.environment!.MANAGEMENT_PORT}/health/ready`);
    }
    const lb = compose.services.lb!;
    expect(lb.image).toMatch(/^haproxy:/);
    expect(lb.ports).toEqual(['127.0.0.1:3000:8080']);
    const config = readFileSync('deploy/haproxy/haproxy.cfg', 'utf8');
    expect(lb.volumes).toContain('./deploy/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    expect(config).toContain('option httpchk GET /health/ready');
    expect(config).toMatch(/default-server check port 9000/);
    expect([...config.matchAll(/^\s*server (\S+) (\S+):3000/gm)].map((m) => m[2])).toEqual(['idp1', 'idp2']);
    // HAProxy itself accepts it, where it is installed (.ci/run installs it).
    const check = spawnSync('haproxy', ['-c', '-f', 'deploy/haproxy/haproxy.cfg'], { encoding: 'utf8' });
    if (!check.error) expect([check.status, check.stdout + check.stderr]).toEqual([0, expect.stringContaining('Configuration file is valid')]);
  });
});
