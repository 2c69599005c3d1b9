// npm's `install`: compile the shutdown watchdog (native/watchdog.c) with the node-gyp npm ships.
// A failed build does not fail the install: the worker then runs without the watchdog and says so
// at start (a handler stuck in synchronous code can then hold up a shutdown).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(new URL('../binding.gyp', import.meta.url))) process.exit(0);
const gyp = process.env.npm_config_node_gyp;
const [command, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const result = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
if (result.status !== 0) {
  const why = result.error ? result.error.message : `node-gyp exited with ${result.status ?? result.signal}`;
  process.stderr.write(`atom-worker: the shutdown watchdog was not built (${why}); the worker runs without it. Needs python3, make and a C compiler.\n`);
}
