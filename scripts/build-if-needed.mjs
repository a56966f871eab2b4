// Builds dist/ when any source is newer than the last build, so `npm start` and `npm run cli`
// work on a fresh clone and stay fast afterwards.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Both halves of `npm run build`: the server (nest build) and the explorer it serves (Vite).
const markers = ['dist/apps/api/src/main.js', 'dist/apps/web/index.html'];
const roots = [
  'apps',
  'libs',
  'migrations',
  'test/bench',
  'tsconfig.json',
  'tsconfig.build.json',
  'nest-cli.json',
  'package-lock.json',
];

function newest(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = 0;
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

const built = Math.min(...markers.map((m) => (existsSync(m) ? statSync(m).mtimeMs : 0)));
const sources = Math.max(...roots.map(newest));
if (sources > built) {
  process.stderr.write('Building (sources changed since the last build)...\n');
  execSync('npm run --silent build', { stdio: ['ignore', process.stderr, 'inherit'] });
}
