import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess as run } from '../e2e/support/run-process';
import { TestApp } from '../e2e/support/test-app';

/**
 * The operational scripts the image and the Jenkinsfile run, executed for real: the container
 * health check against a booted API, and the Kubernetes deploy script against a recording
 * kubectl (the cluster is the only fake: manifests are rendered by the real `kubectl kustomize`).
 */
const root = join(__dirname, '..', '..');
const realKubectl =
  spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

describe('operational scripts', () => {
  let app: TestApp;
  let base: string;
  beforeAll(async () => {
    app = new TestApp('sqlite');
    await app.start();
    base = await app.url();
  });
  afterAll(() => app.stop());

  describe('scripts/healthcheck.mjs (the image HEALTHCHECK)', () => {
    const check = (path: string, port: string) =>
      run('node', [join(root, 'scripts/healthcheck.mjs'), path], {
        ...process.env,
        PORT: port,
        HEALTHCHECK_TIMEOUT_MS: '2000',
      });

    it('exits 0 when the route answers 2xx, 1 with the status otherwise, 1 when nothing listens', async () => {
      const port = new URL(base).port;
      expect((await check('/health', port)).status).toBe(0);
      expect((await check('/health/ready', port)).status).toBe(0);
      const missing = await check('/no-such-route', port);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain('answered 404');
      const down = await check('/health', '1');
      expect(down.status).toBe(1);
      expect(down.stderr).toContain('failed');
    });
  });

  (realKubectl ? describe : describe.skip)('scripts/deploy-k8s.sh', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'hd-deploy-'));
      // Records every call; renders with the real kubectl; answers the cluster's part as told.
      writeFileSync(
        join(dir, 'kubectl'),
        `#!/usr/bin/env bash
echo "$*" >> "${dir}/calls"
if [ "$1" = kustomize ]; then exec kubectl "$@"; fi
for a in "$@"; do case "$a" in *.yaml) cp "$a" "${dir}/applied-$(wc -l < "${dir}/calls").yaml";; esac; done
case "$*" in
  *"wait --for=condition=complete"*) [ "\${FAKE_JOB:-ok}" = ok ] ;;
  *"rollout status"*) [ "\${FAKE_ROLLOUT:-ok}" = ok ] ;;
  *) exit 0 ;;
esac
`,
      );
      chmodSync(join(dir, 'kubectl'), 0o755);
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const deploy = async (args: string[], env: Record<string, string> = {}) => {
      const result = await run('bash', [join(root, 'scripts/deploy-k8s.sh'), ...args], {
        ...process.env,
        KUBECTL: join(dir, 'kubectl'),
        HEALTH_INTERVAL: '0',
        ...env,
      });
      let calls: string[] = [];
      try {
        calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');
      } catch {
        // no call made
      }
      return {
        ...result,
        calls,
        verbs: calls.map((c) =>
          c
            .replace(/^--namespace \S+ /, '')
            .split(' ')
            .slice(0, 2)
            .join(' '),
        ),
      };
    };

    it('migrates first, then rolls out the pinned image and checks readiness', async () => {
      const run = await deploy(['staging', 'registry.test/hd:abc123'], {
        HEALTH_URL: `${base}/health/ready`,
      });
      expect(run.stderr).not.toMatch(/error|curl:/i);
      expect(run.status).toBe(0);
      expect(run.verbs).toEqual([
        'kustomize ' + join(root, 'deploy/k8s/.release/staging'),
        'delete job',
        'apply -f',
        'wait --for=condition=complete',
        'apply -f',
        'rollout status',
      ]);
      expect(run.calls[1]).toContain('--namespace historical-data-staging');
      expect(run.calls[2]).toContain('--selector app.kubernetes.io/component!=api');
      const applied = readFileSync(join(dir, 'applied-5.yaml'), 'utf8');
      expect(applied.match(/image: \S+/g)).toEqual([
        'image: registry.test/hd:abc123',
        'image: registry.test/hd:abc123',
      ]);
      expect(run.stdout).toContain('post-deploy check passed');
    });

    it('rolls back when the new pods do not become ready', async () => {
      const run = await deploy(['production', 'registry.test/hd:v2'], { FAKE_ROLLOUT: 'fail' });
      expect(run.status).toBe(1);
      expect(run.verbs.slice(-2)).toEqual(['rollout undo', 'rollout status']);
      expect(run.calls[1]).toContain('--namespace historical-data');
      expect(run.stdout).toContain('ROLLING BACK');
    });

    it('rolls back when the post-deploy readiness check fails', async () => {
      const run = await deploy(['staging', 'registry.test/hd:v3'], {
        HEALTH_URL: `${base}/no-such-route`,
        HEALTH_ATTEMPTS: '2',
      });
      expect(run.status).toBe(1);
      expect(run.verbs).toContain('rollout undo');
      expect(run.stdout).toContain('post-deploy check of');
    });

    it('leaves the Deployment alone when the migration fails', async () => {
      const run = await deploy(['staging', 'registry.test/hd:v4'], { FAKE_JOB: 'fail' });
      expect(run.status).toBe(1);
      expect(run.verbs.filter((v) => v === 'apply -f')).toHaveLength(1);
      expect(run.verbs).not.toContain('rollout status');
      expect(run.stdout).toContain('the Deployment was not changed');
    });

    it('refuses an unknown environment or an image without a tag', async () => {
      expect((await deploy(['qa', 'registry.test/hd:v1'])).status).toBe(64);
      expect((await deploy(['staging', 'registry.test/hd'])).status).toBe(64);
      expect((await deploy(['staging'])).status).toBe(64);
    });
  });
});
