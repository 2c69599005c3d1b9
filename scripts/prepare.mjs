// npm's `prepare`: build dist/ after `npm ci` / `npm install` in a checkout (and for a git
// dependency). Skipped where a build would do harm or cannot run: under `npx`/`npm exec`, which
// links this folder and would rebuild dist/ beneath a running worker, and in an installed package,
// which ships dist/ and no sources.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (process.env.npm_command === 'exec') process.exit(0);
if (!existsSync(new URL('../tsconfig.json', import.meta.url)) || !existsSync(new URL('../src', import.meta.url))) process.exit(0);
const result = spawnSync(process.execPath, [fileURLToPath(import.meta.resolve('typescript/bin/tsc')), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
