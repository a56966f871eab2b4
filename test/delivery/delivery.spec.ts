import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { configVariableNames, loadConfig } from '@app/config';
import { TestApp } from '../e2e/support/test-app';

/**
 * The delivery files (Dockerfile, docker-compose.yml, deploy/k8s, Jenkinsfile) cannot be run
 * here (no Docker engine, no cluster), so this spec holds them to what matters: probes and
 * health checks name routes the API really serves (asked of a booted app), every environment
 * variable they set is one the service reads and their values pass its validation, the image
 * runs as non-root, every Compose service has a health check, and the Jenkinsfile runs the same
 * npm scripts as .ci/run.
 */
const root = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const known = new Set(configVariableNames());

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

// ---- Dockerfile ---------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Dockerfile instructions by stage: comments dropped, continuation lines joined. */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!current && (line === '' || line.startsWith('#'))) continue;
    if (current && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push((current + line).trim());
    current = '';
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(args);
      stages.push({ from: m?.[1] ?? '', name: m?.[2], instructions: [] });
    } else if (stages.length) {
      stages.at(-1)!.instructions.push({ op: upper, args });
    }
  }
  return stages;
}

/** Variable assignments of ENV instructions (`ENV A=1 B=2` and the legacy `ENV A 1`). */
function envAssignments(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!args.includes('=')) {
    const [name, ...rest] = args.split(/\s+/);
    out[name] = rest.join(' ');
    return out;
  }
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|(\S*))/g)) {
    out[m[1]] = m[3] ?? m[4] ?? '';
  }
  return out;
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const runtime = dockerfile.at(-1)!;
const op = (stage: Stage, name: string) => stage.instructions.filter((i) => i.op === name);
const dockerEnv = Object.assign(
  {},
  ...op(runtime, 'ENV').map((i) => envAssignments(i.args)),
) as Record<string, string>;
const healthcheckPath = /healthcheck\.mjs",\s*"([^"]+)"/.exec(
  op(runtime, 'HEALTHCHECK')[0]?.args ?? '',
)?.[1];

// ---- Compose -------------------------------------------------------------------------------

/** `${NAME:-default}` / `${NAME-default}` / `${NAME}` resolved as Compose does with NAME unset. */
const composeDefaults = (value: string) =>
  value.replace(
    /\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}/g,
    (_m, d: string | undefined) => d ?? '',
  );

const compose = obj(parseYaml(read('docker-compose.yml')));
const services = obj(compose.services);
const api = obj(services.api);
const composeEnv = Object.fromEntries(
  Object.entries(obj(api.environment)).map(([k, v]) => [k, composeDefaults(String(v))]),
);

// ---- Kubernetes ----------------------------------------------------------------------------

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
const overlays = readdirSync(join(root, 'deploy/k8s/overlays'));

/** The overlay's objects: built by `kubectl kustomize` when it is installed, else the base files. */
function manifests(overlay: string): Obj[] {
  const text = kubectl
    ? execFileSync('kubectl', ['kustomize', join(root, 'deploy/k8s/overlays', overlay)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      })
    : readdirSync(join(root, 'deploy/k8s/base'))
        .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && !f.includes('template'))
        .map((f) => read(join('deploy/k8s/base', f)))
        .join('\n---\n');
  return parseAllDocuments(text)
    .map((d) => obj(d.toJS()))
    .filter((o) => o.kind);
}
const find = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
const secretTemplate = obj(parseYaml(read('deploy/k8s/base/secret.template.yaml')));
const secretEnv = Object.fromEntries(
  Object.entries(obj(secretTemplate.stringData)).map(([k, v]) => [k, String(v)]),
);

// ---- Jenkinsfile and .ci/run ----------------------------------------------------------------

/** npm scripts a file runs: `npm run [--silent] NAME`, `npm test`, `npm start`. */
function npmScripts(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/npm\s+run\s+(?:--\S+\s+)*([A-Za-z0-9:_-]+)/g)) names.add(m[1]);
  for (const m of text.matchAll(/npm\s+(test|start)\b/g)) names.add(m[1]);
  return names;
}
const packageScripts = new Set(
  Object.keys((JSON.parse(read('package.json')) as { scripts: Obj }).scripts),
);

describe('delivery files', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = new TestApp('sqlite');
    await app.start();
  });
  afterAll(() => app.stop());

  /** The API serves the path with 200 (what a probe or health check needs). */
  async function served(path: string): Promise<void> {
    const res = await app.http.get(path);
    expect({ path, status: res.status }).toEqual({ path, status: 200 });
  }

  describe('Dockerfile', () => {
    it('builds in stages on an official Node LTS image, production dependencies only at runtime', () => {
      expect(dockerfile.map((s) => s.name)).toEqual(['deps', 'build', 'runtime']);
      const args = read('Dockerfile').match(/^ARG NODE_IMAGE=(\S+)/m)?.[1] ?? '';
      expect(args).toMatch(/^node:(20|22|24)-(bookworm|bookworm-slim|alpine)$/);
      expect(dockerfile.every((s) => s.from === '${NODE_IMAGE}')).toBe(true);
      const deps = dockerfile.find((s) => s.name === 'deps')!;
      expect(op(deps, 'RUN').some((i) => /npm ci --omit=dev/.test(i.args))).toBe(true);
      const copies = op(runtime, 'COPY').map((i) => i.args);
      expect(copies.filter((c) => c.includes('node_modules'))).toEqual([
        expect.stringMatching(/--from=deps\b/),
      ]);
      expect(copies.some((c) => /--from=build\b.*dist\/apps/.test(c))).toBe(true);
    });

    it('ships no build tools: `npm ci --omit=dev` installs neither prettier nor typescript', () => {
      // npm ci --omit=dev skips exactly the lockfile entries flagged dev (devOptional stays).
      const packages = obj(JSON.parse(read('package-lock.json')).packages);
      const installed = Object.entries(packages)
        .filter(([path, meta]) => path.startsWith('node_modules/') && obj(meta).dev !== true)
        .map(([path]) => path.replace(/^.*node_modules\//, ''));
      expect(installed).toEqual(expect.arrayContaining(['nest-commander', 'cosmiconfig']));
      expect(installed.filter((name) => ['prettier', 'typescript'].includes(name))).toEqual([]);
      // The stand-in nest-commander gets instead is linked from vendor/: every stage needs it.
      const vendored = dockerfile.filter((stage) =>
        op(stage, 'COPY').some((i) => /^(--\S+\s+)*vendor \.\/vendor$/.test(i.args)),
      );
      expect(vendored.map((stage) => stage.name)).toEqual(['deps', 'build', 'runtime']);
      expect(read('.ci/runtime-rehearsal.sh')).toContain('cp -r vendor "$dir/"');
    });

    it('runs as a non-root user under tini, node started directly (not through npm)', () => {
      const users = op(runtime, 'USER').map((i) => i.args.trim());
      expect(users.length).toBeGreaterThan(0);
      expect(['root', '0', '0:0']).not.toContain(users.at(-1));
      expect(op(runtime, 'ENTRYPOINT')[0]?.args).toMatch(/tini.*--/);
      expect(op(runtime, 'CMD')[0]?.args).toBe(
        '["node", "--max-semi-space-size=32", "dist/apps/api/src/main.js"]',
      );
    });

    it('carries the CLI and its files', () => {
      const runs = op(runtime, 'RUN')
        .map((i) => i.args)
        .join('\n');
      expect(runs).toContain('dist/apps/cli/src/main.js');
      for (const src of ['config', 'scripts/healthcheck.mjs', 'package.json']) {
        expect(existsSync(join(root, src))).toBe(true);
      }
      const ignored = read('.dockerignore').split('\n');
      for (const needed of ['apps', 'libs', 'migrations', 'config', 'scripts', 'package.json']) {
        expect(ignored).not.toContain(needed);
      }
      expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git', '.env']));
    });

    it('HEALTHCHECK asks for a route the API serves', async () => {
      expect(healthcheckPath).toBe('/health');
      await served(healthcheckPath!);
    });

    it('sets only variables the service reads, with values it accepts', () => {
      expect(Object.keys(dockerEnv).filter((k) => !known.has(k))).toEqual([]);
      // NODE_ENV=production needs keys: the image refuses to start without them, on purpose.
      expect(() => loadConfig(dockerEnv)).toThrow(/API_KEYS is empty/);
      expect(() =>
        loadConfig({ ...dockerEnv, API_KEYS: 'ops:0123456789abcdef:admin' }),
      ).not.toThrow();
    });
  });

  describe('docker-compose.yml', () => {
    it('gives every service a health check', () => {
      const missing = Object.entries(services)
        .filter(([, s]) => !obj(obj(s).healthcheck).test)
        .map(([name]) => name);
      expect(missing).toEqual([]);
      expect(Object.keys(services)).toEqual(
        expect.arrayContaining(['api', 'mysql', 'redis', 'prometheus', 'grafana', 'jaeger']),
      );
      for (const name of ['elasticsearch', 'logstash', 'kibana']) {
        expect(obj(services[name]).profiles).toEqual(['logging']);
      }
    });

    it('starts the API once MySQL and Redis are healthy, MySQL 8.0 on a named volume', () => {
      const dependsOn = obj(api.depends_on);
      expect(obj(dependsOn.mysql).condition).toBe('service_healthy');
      expect(obj(dependsOn.redis).condition).toBe('service_healthy');
      const mysql = obj(services.mysql);
      expect(mysql.image).toBe('mysql:8.0');
      const volume = String(list(mysql.volumes)[0]).split(':')[0];
      expect(Object.keys(obj(compose.volumes))).toContain(volume);
    });

    it("the API's health check asks for a route the API serves", async () => {
      const test = list(obj(api.healthcheck).test).map(String);
      const path = test.find((t) => t.startsWith('/'))!;
      expect(path).toBe('/health/ready');
      await served(path);
    });

    it('sets only variables the service reads, with values it accepts', () => {
      expect(Object.keys(composeEnv).filter((k) => !known.has(k))).toEqual([]);
      const config = loadConfig(composeEnv);
      expect(config.database.dialect).toBe('mysql');
      expect(config.database.migrationsRun).toBe(true);
      expect(composeEnv.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://jaeger:4318');
    });

    it('mounts the monitoring configuration that exists in the repository', () => {
      const mounts = ['prometheus', 'grafana', 'logstash'].flatMap((s) =>
        list(obj(services[s]).volumes).map(String),
      );
      const local = mounts.filter((m) => m.startsWith('./')).map((m) => m.split(':')[0]);
      expect(local.length).toBeGreaterThanOrEqual(4);
      for (const path of local)
        expect({ path, exists: existsSync(join(root, path)) }).toEqual({ path, exists: true });
      // Prometheus scrapes the API by its Compose service name and port.
      expect(read('monitoring/prometheus/prometheus.yml')).toContain("'api:3000'");
    });
  });

  describe.each(overlays)('deploy/k8s overlay %s', (overlay) => {
    const objs = manifests(overlay);
    const deployment = find(objs, 'Deployment')[0];
    const podSpec = obj(obj(obj(deployment.spec).template).spec);
    const container = obj(list(podSpec.containers)[0]);
    const configMap = find(objs, 'ConfigMap')[0];
    const configEnv = Object.fromEntries(
      Object.entries(obj(configMap.data)).map(([k, v]) => [k, String(v)]),
    );
    const podLabels = obj(obj(obj(obj(deployment.spec).template).metadata).labels);
    const selects = (selector: unknown) =>
      Object.entries(obj(obj(selector).matchLabels ?? selector)).every(
        ([k, v]) => podLabels[k] === v,
      );

    if (!kubectl) {
      it.skip('kubectl is not installed: checked the base files, not the built overlay', () =>
        undefined);
    }

    it('probes: liveness and startup on /health, readiness on /health/ready, all served', async () => {
      const path = (probe: string) => String(obj(obj(container[probe]).httpGet).path);
      expect(path('livenessProbe')).toBe('/health');
      expect(path('startupProbe')).toBe('/health');
      expect(path('readinessProbe')).toBe('/health/ready');
      for (const p of new Set([path('livenessProbe'), path('readinessProbe')])) await served(p);
      const port = obj(list(container.ports)[0]);
      expect(String(port.containerPort)).toBe(configEnv.PORT);
    });

    it('runs non-root on a read-only root filesystem with writable /app/data and /tmp', () => {
      expect(obj(podSpec.securityContext).runAsNonRoot).toBe(true);
      const sc = obj(container.securityContext);
      expect(sc).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      const mounts = list(container.volumeMounts).map((m) => obj(m).mountPath);
      expect(mounts).toEqual(expect.arrayContaining(['/app/data', '/tmp']));
      expect(obj(container.resources).requests).toBeDefined();
      expect(obj(container.resources).limits).toBeDefined();
    });

    it('gives the API time to drain: preStop pause + SHUTDOWN_GRACE_MS fit in the grace period', () => {
      const sleep = list(obj(obj(obj(container.lifecycle).preStop).exec).command).map(String);
      expect(sleep[0]).toBe('sleep');
      const preStopMs = Number(sleep[1]) * 1000;
      const graceMs = Number(podSpec.terminationGracePeriodSeconds) * 1000;
      const shutdownMs = Number(configEnv.SHUTDOWN_GRACE_MS);
      expect(shutdownMs).toBeGreaterThan(0);
      expect(preStopMs + shutdownMs + 5000).toBeLessThanOrEqual(graceMs);
    });

    it('sets only variables the service reads, with values it accepts; replicas never migrate', () => {
      expect(Object.keys(configEnv).filter((k) => !known.has(k))).toEqual([]);
      expect(Object.keys(secretEnv).filter((k) => !known.has(k))).toEqual([]);
      const refs = list(container.envFrom).map((e) => obj(e));
      expect(refs.map((r) => obj(r.configMapRef).name ?? obj(r.secretRef).name)).toEqual([
        configMap.metadata && obj(configMap.metadata).name,
        obj(secretTemplate.metadata).name,
      ]);
      const config = loadConfig({ ...configEnv, ...secretEnv });
      expect(config.database.migrationsRun).toBe(false);
      expect(['production', 'staging']).toContain(config.env);
    });

    it('has a migration Job on the same image and settings, running `migrate run`', () => {
      const job = find(objs, 'Job')[0];
      const jobPod = obj(obj(obj(job.spec).template).spec);
      const migrate = obj(list(jobPod.containers)[0]);
      expect(migrate.image).toBe(container.image);
      expect(list(migrate.command).join(' ')).toMatch(
        /dist\/apps\/cli\/src\/main\.js migrate run$/,
      );
      expect(migrate.envFrom).toEqual(container.envFrom);
      expect(obj(jobPod.securityContext).runAsNonRoot).toBe(true);
    });

    it('Service, PodDisruptionBudget and HPA point at the Deployment and its pods', () => {
      expect(selects(obj(find(objs, 'Service')[0].spec).selector)).toBe(true);
      expect(selects(obj(find(objs, 'PodDisruptionBudget')[0].spec).selector)).toBe(true);
      const hpa = obj(find(objs, 'HorizontalPodAutoscaler')[0].spec);
      expect(obj(hpa.scaleTargetRef).name).toBe(obj(deployment.metadata).name);
      const ingress = obj(find(objs, 'Ingress')[0].spec);
      const backend = obj(
        obj(obj(list(obj(obj(list(ingress.rules)[0]).http).paths)[0]).backend).service,
      );
      expect(backend.name).toBe(obj(find(objs, 'Service')[0].metadata).name);
    });
  });

  describe('Jenkinsfile', () => {
    const jenkins = npmScripts(read('Jenkinsfile'));
    const ci = npmScripts(read('.ci/run'));

    it('runs only npm scripts that exist in package.json', () => {
      expect([...jenkins].filter((s) => !packageScripts.has(s))).toEqual([]);
    });

    it('runs the same checks as .ci/run, so the two cannot drift', () => {
      expect([...jenkins].sort()).toEqual([...ci].sort());
      expect(read('Jenkinsfile')).toMatch(/npm ci\b/);
    });

    it('is a declarative pipeline with the stages the release process needs', () => {
      const text = read('Jenkinsfile');
      expect(text).toMatch(/^pipeline \{/m);
      for (const stage of [
        'Checkout',
        'Image',
        'Image scan (Trivy)',
        'Push',
        'Deploy to staging',
      ]) {
        expect(text).toContain(`stage('${stage}')`);
      }
      expect(text).toContain('scripts/deploy-k8s.sh');
      expect(text).toMatch(/post \{\s*failure \{/);
    });
  });

  it('config/.env.example documents every variable the service reads', () => {
    const example = read('config/.env.example');
    const missing = [...known].filter((name) => !new RegExp(`^#?\\s*${name}=`, 'm').test(example));
    expect(missing).toEqual([]);
  });
});
