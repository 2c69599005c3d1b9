#!/usr/bin/env node
// `npm run cluster`: atom-worker scaled out over hosts, and losing them, on one machine. Linux
// network namespaces joined by a bridge (in a namespace of its own, so the host's network is not
// touched): two gearmand hosts with SQLite persistent queues, three worker hosts running
// `atom-worker run --concurrency 4` against both, and a client host queueing background jobs with
// distinct unique keys. During the run, one at a time: a worker host cut off (no FIN: only the
// heartbeat can tell) and brought back; a gearmand host powered off (cut off and kill -9) and
// brought back with its queue file; a worker SIGKILLed mid-job and restarted. Then a table: queued,
// completed, completed twice (with why), lost, how fast each fault was noticed, throughput and
// spread per host. Needs root (ip netns). Removes everything it made, also when interrupted.
//
//   npm run build && node bench/cluster/run.mjs [--jobs 10000] [--rate 250] [--quick] [--json FILE]
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const quick = argv.includes('--quick');
const JOBS = Number(flag('jobs', quick ? 2000 : 10_000));
const RATE = Number(flag('rate', quick ? 80 : 200));
const JSON_OUT = flag('json', undefined);
const HEARTBEAT = { interval: 3, timeout: 2 };
// Seconds after the client starts. Each fault gets time to be noticed (heartbeat 3 s + 2 s) and healed.
const T = quick
  ? { cut: 1.5, uncut: 8, powerOff: 9, powerOn: 16, kill: 17, restart: 18 }
  : { cut: 6, uncut: 14, powerOff: 18, powerOn: 26, kill: 30, restart: 32 };

const TAG = `awc${process.pid}`;
const NET = `${TAG}-net`;
const HOSTS = { g1: 11, g2: 12, w1: 21, w2: 22, w3: 23, c: 31 };
const ip = (host) => `10.231.0.${HOSTS[host]}`;
const ns = (host) => `${TAG}-${host}`;
const SERVERS = `${ip('g1')}:4730,${ip('g2')}:4730`;
const OUT = path.join(ROOT, 'bench', 'out', `cluster-${new Date().toISOString().replace(/[:.]/g, '-')}`);

function sh(args, { check = true } = {}) {
  const result = spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
  if (check && result.status !== 0) throw new Error(`${args.join(' ')}: ${(result.stderr || result.error?.message || '').trim()}`);
  return result;
}
const log = (...parts) => console.error(`[cluster ${new Date().toISOString().slice(11, 19)}]`, ...parts);

// ---- preconditions and clean-up ----------------------------------------------------------------

export function cannotRun() {
  if (process.getuid?.() !== 0) return 'the cluster run needs root (ip netns); run it as root or skip it';
  for (const tool of ['ip', 'gearmand', 'gearadmin']) if (sh(['sh', '-c', `command -v ${tool}`], { check: false }).status !== 0) return `${tool} is missing (apt-get install -y iproute2 gearman-job-server gearman-tools)`;
  if (!/libsqlite3/.test(sh(['gearmand', '--help'], { check: false }).stdout)) return "this gearmand has no SQLite queue (-q libsqlite3)";
  const probe = `${TAG}-probe`;
  const made = sh(['ip', 'netns', 'add', probe], { check: false });
  if (made.status !== 0) return `cannot create a network namespace: ${made.stderr.trim()}`;
  sh(['ip', 'netns', 'del', probe], { check: false });
  if (!existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'index.js'))) return 'dist/ is missing: npm run build first';
  return undefined;
}

const children = new Set();
function startIn(host, command, args, options = {}) {
  const child = spawn('ip', ['netns', 'exec', ns(host), command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** Every namespace this run (or a killed earlier run, by its dead pid) made. */
function ourNamespaces(all = false) {
  const list = sh(['ip', 'netns', 'list'], { check: false }).stdout.split('\n').map((line) => line.split(' ')[0]).filter(Boolean);
  return list.filter((name) => {
    const match = /^awc(\d+)-/.exec(name);
    if (!match) return false;
    if (Number(match[1]) === process.pid) return true;
    if (!all) return false;
    return !alive(Number(match[1]));
  });
}

/** Whether a process runs: a zombie (killed, not yet reaped) does not. */
function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return !/^\d+ \(.*\) Z/.test(stat);
}

let cleaned = false;
export function cleanUp() {
  if (cleaned) return;
  cleaned = true;
  for (const child of children) child.kill('SIGKILL');
  removeNamespaces(ourNamespaces());
}

/** A process still inside a namespace keeps its sockets: kill every one in it, then delete it. */
function removeNamespaces(names) {
  for (const name of names) {
    const pids = sh(['ip', 'netns', 'pids', name], { check: false }).stdout.split('\n').filter(Boolean);
    for (const pid of pids) spawnSync('kill', ['-9', pid]);
    sh(['ip', 'netns', 'del', name], { check: false });
  }
}

/**
 * What is left of this run: its namespaces, and processes whose command line names its output
 * folder, as gearmand's, the workers' and the client's do (`ip netns exec` execs the command, so
 * the namespace's name is no longer in it). Another run's processes do not count.
 */
export function leftovers() {
  const names = ourNamespaces();
  const procs = sh(['sh', '-c', `ps -eo pid,args | grep -F -e '${OUT}' | grep -v grep || true`], { check: false }).stdout.trim();
  return { namespaces: names, processes: procs === '' ? [] : procs.split('\n') };
}

// ---- the network --------------------------------------------------------------------------------

function buildNetwork() {
  // A run killed outright (SIGKILL) left its namespaces, and gearmand and the workers inside them.
  removeNamespaces(ourNamespaces(true).filter((name) => !name.startsWith(`${TAG}-`)));
  sh(['ip', 'netns', 'add', NET]);
  sh(['ip', '-n', NET, 'link', 'add', 'br0', 'type', 'bridge']);
  sh(['ip', '-n', NET, 'link', 'set', 'br0', 'up']);
  for (const host of Object.keys(HOSTS)) {
    sh(['ip', 'netns', 'add', ns(host)]);
    sh(['ip', '-n', NET, 'link', 'add', `v-${host}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(host)]);
    sh(['ip', '-n', NET, 'link', 'set', `v-${host}`, 'master', 'br0', 'up']);
    sh(['ip', '-n', ns(host), 'addr', 'add', `${ip(host)}/24`, 'dev', 'eth0']);
    sh(['ip', '-n', ns(host), 'link', 'set', 'eth0', 'up']);
    sh(['ip', '-n', ns(host), 'link', 'set', 'lo', 'up']);
  }
}
/** Cut a host off the bridge: both ends stay up, packets just go nowhere (no FIN, no RST). */
const cut = (host) => sh(['ip', '-n', NET, 'link', 'set', `v-${host}`, 'nomaster']);
const reconnect = (host) => sh(['ip', '-n', NET, 'link', 'set', `v-${host}`, 'master', 'br0']);

// ---- the hosts ----------------------------------------------------------------------------------

const gearmands = {};
function startGearmand(host) {
  const child = startIn(host, 'gearmand', ['--listen', ip(host), '--port', '4730', '-q', 'libsqlite3', '--libsqlite3-db', path.join(OUT, `${host}.sqlite`), '--log-file', path.join(OUT, `${host}.log`), '--verbose', 'WARNING']);
  gearmands[host] = child;
  return child;
}

const workers = {};
const workerLogs = {};
function startWorker(host) {
  const args = [path.join(ROOT, 'bin', 'atom-worker'), 'run', '--servers', SERVERS, '--concurrency', '4', '--jobs', path.join(ROOT, 'bench', 'cluster', 'jobs'), '--log-format', 'json', '--journal', path.join(OUT, `${host}.journal.sqlite`), '--run-dir', path.join(OUT, `${host}-run`), '--heartbeat-interval', String(HEARTBEAT.interval), '--heartbeat-timeout', String(HEARTBEAT.timeout), '--client-id', `atom-worker:${host}`];
  const child = startIn(host, process.execPath, args, { env: { ...process.env, CLUSTER_RECORD_FILE: path.join(OUT, `${host}.done`), CLUSTER_HOST: host } });
  workerLogs[host] ??= [];
  let buffer = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      appendFileSync(path.join(OUT, `${host}.log`), `${line}\n`);
      try {
        workerLogs[host].push({ at: Date.now(), ...JSON.parse(line) });
      } catch {
        // not JSON: kept in the file only
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => appendFileSync(path.join(OUT, `${host}.log`), chunk));
  workers[host] = child;
  return child;
}

async function until(condition, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const adminOf = (server, command) => sh(['ip', 'netns', 'exec', ns('c'), 'gearadmin', '--host', ip(server), '--port', '4730', command], { check: false }).stdout;
const queued = (server) => {
  const line = adminOf(server, '--status').split('\n').find((l) => l.startsWith('clusterRecord\t'));
  return line ? Number(line.split('\t')[1]) : 0;
};

function completions() {
  const lines = [];
  for (const host of ['w1', 'w2', 'w3']) {
    const file = path.join(OUT, `${host}.done`);
    if (!existsSync(file)) continue;
    for (const text of readFileSync(file, 'utf8').split('\n')) {
      const [id, at, when] = text.split(' ');
      if (id !== undefined && id !== '' && when !== undefined) lines.push({ id: Number(id), host: at, at: Number(when) });
    }
  }
  return lines;
}

// ---- the run ------------------------------------------------------------------------------------

export async function runCluster() {
  mkdirSync(OUT, { recursive: true });
  buildNetwork();
  log(`network ${NET}: gearmand on ${ip('g1')} and ${ip('g2')}, workers on .21-.23, client on .31; output in ${path.relative(ROOT, OUT)}`);
  startGearmand('g1');
  startGearmand('g2');
  await until(() => queued('g1') >= 0 && /^\d/.test(adminOf('g1', '--server-version')) && /^\d/.test(adminOf('g2', '--server-version')), 10_000, 'both gearmand');
  for (const host of ['w1', 'w2', 'w3']) startWorker(host);
  await until(() => ['w1', 'w2', 'w3'].every((h) => workerLogs[h]?.some((l) => l.msg === 'registered on every connection')), 20_000, 'the workers to register');

  const t0 = Date.now();
  const at = (seconds) => t0 + seconds * 1000;
  // OUT as a last argument (the client ignores it) names this run in `ps`, for leftovers().
  const client = startIn('c', process.execPath, [path.join(ROOT, 'bench', 'cluster', 'client.mjs'), SERVERS, String(JOBS), String(RATE), OUT]);
  let clientOut = '';
  client.stdout.setEncoding('utf8').on('data', (chunk) => (clientOut += chunk));
  const clientDone = new Promise((resolve) => client.once('exit', resolve));
  const events = {};
  const sleepUntil = (when) => new Promise((resolve) => setTimeout(resolve, Math.max(0, when - Date.now())));

  await sleepUntil(at(T.cut));
  events.cut = Date.now();
  cut('w1');
  log('w1 cut off (no FIN)');
  await sleepUntil(at(T.uncut));
  reconnect('w1');
  events.uncut = Date.now();
  log('w1 back on the network');

  await sleepUntil(at(T.powerOff));
  events.powerOff = Date.now();
  cut('g1');
  gearmands.g1.kill('SIGKILL');
  log('g1 powered off (cut off, gearmand kill -9)');
  await sleepUntil(at(T.powerOn));
  reconnect('g1');
  startGearmand('g1');
  events.powerOn = Date.now();
  log('g1 back with its queue file');

  await sleepUntil(at(T.kill));
  const running = () => adminOf('g2', '--workers') + adminOf('g1', '--workers');
  events.kill = Date.now();
  workers.w2.kill('SIGKILL');
  log('w2 SIGKILLed');
  await until(() => !running().includes('atom-worker:w2'), 15_000, 'the servers to drop w2');
  events.killNoticed = Date.now();
  await sleepUntil(at(T.restart));
  startWorker('w2');
  events.restart = Date.now();

  await clientDone;
  const submitted = JSON.parse(clientOut.trim().split('\n').pop() ?? '{}');
  log(`client queued ${submitted.queued} jobs (${JSON.stringify(submitted.perServer)})`);
  // Done when every id has completed and both queues are empty (or nothing moves for 30 s).
  let last = -1;
  let still = Date.now();
  await until(() => {
    const ids = new Set(completions().map((c) => c.id));
    if (ids.size !== last) {
      last = ids.size;
      still = Date.now();
    }
    return (ids.size === JOBS && queued('g1') === 0 && queued('g2') === 0) || Date.now() - still > 30_000;
  }, 300_000, 'the jobs to finish');
  const finished = Date.now();
  return report({ t0, events, submitted, finished });
}

function firstLog(hosts, after, test) {
  let first;
  for (const host of hosts) for (const line of workerLogs[host] ?? []) if (line.at >= after && test(line) && (first === undefined || line.at < first)) first = line.at;
  return first;
}

function report({ t0, events, submitted, finished }) {
  const done = completions();
  const byId = new Map();
  for (const c of done) byId.set(c.id, [...(byId.get(c.id) ?? []), c]);
  const lost = [];
  for (let id = 0; id < JOBS; id += 1) if (!byId.has(id)) lost.push(id);
  const lostLine = (line) => line.msg === 'lost connection to job server; reconnecting';
  const noticed = {
    'w1 cut off: w1 drops its connections (heartbeat)': firstLog(['w1'], events.cut, lostLine),
    'g1 powered off: a worker drops g1 (heartbeat)': firstLog(['w1', 'w2', 'w3'], events.powerOff, (l) => lostLine(l) && String(l.server).startsWith(ip('g1'))),
    'w2 SIGKILLed: both servers drop w2': events.killNoticed,
  };
  const starts = { 'w1 cut off: w1 drops its connections (heartbeat)': events.cut, 'g1 powered off: a worker drops g1 (heartbeat)': events.powerOff, 'w2 SIGKILLed: both servers drop w2': events.kill };
  const reasons = {};
  for (const [id, list] of byId) {
    if (list.length < 2) continue;
    list.sort((a, b) => a.at - b.at);
    const first = list[0];
    let why = 'other';
    if (first.host === 'w1' && first.at >= events.cut - 1000 && first.at <= events.uncut + 1000) why = 'w1 finished it while cut off; its WORK_COMPLETE never arrived, so the job ran again elsewhere';
    else if (first.at >= events.powerOff - 2000 && first.at <= events.powerOn + 1000) why = "g1 was killed before it recorded the job's end; its queue file gave the job out again";
    else if (first.host === 'w2' && first.at >= events.kill - 1000 && first.at <= events.kill + 100) why = 'w2 was SIGKILLed between recording the job and sending WORK_COMPLETE';
    reasons[why] = [...(reasons[why] ?? []), id];
  }
  const phases = { before: [t0, events.cut], after: [events.restart + 5000, Math.max(events.restart + 6000, finished)] };
  const perHost = {};
  for (const host of ['w1', 'w2', 'w3']) {
    const mine = done.filter((c) => c.host === host);
    const rate = ([from, to]) => mine.filter((c) => c.at >= from && c.at < to).length / Math.max(0.001, (to - from) / 1000);
    perHost[host] = { completions: mine.length, share: mine.length / Math.max(1, done.length), before: rate(phases.before), after: rate(phases.after) };
  }
  const duplicates = [...byId.values()].filter((list) => list.length > 1).length;
  const result = {
    jobs: JOBS,
    queued: submitted.queued,
    queuedPerServer: submitted.perServer,
    completedDistinct: byId.size,
    completions: done.length,
    duplicates,
    duplicateReasons: Object.fromEntries(Object.entries(reasons).map(([why, ids]) => [why, ids.length])),
    lost: lost.length,
    lostIds: lost.slice(0, 20),
    noticedSeconds: Object.fromEntries(Object.entries(noticed).map(([what, when]) => [what, when === undefined ? null : (when - starts[what]) / 1000])),
    perHost,
    seconds: (finished - t0) / 1000,
    heartbeat: HEARTBEAT,
  };
  const rows = [
    `Cluster run: ${JOBS.toLocaleString('en')} background jobs at ${RATE}/s over 2 gearmand (SQLite queues) and 3 worker hosts (concurrency 4, heartbeat ${HEARTBEAT.interval} s + ${HEARTBEAT.timeout} s), ${result.seconds.toFixed(1)} s.`,
    '',
    '| | |',
    '|---|---:|',
    `| jobs queued | ${result.queued} (${Object.entries(result.queuedPerServer ?? {}).map(([s, n]) => `${s}: ${n}`).join(', ')}) |`,
    `| completed (distinct) | ${result.completedDistinct} |`,
    `| completed more than once | ${duplicates} |`,
    ...Object.entries(result.duplicateReasons).map(([why, n]) => `| — ${why} | ${n} |`),
    `| lost | ${result.lost} |`,
    ...Object.entries(result.noticedSeconds).map(([what, s]) => `| noticed: ${what} | ${s === null ? 'not seen' : `${s.toFixed(1)} s`} |`),
    ...Object.entries(perHost).map(([host, h]) => `| ${host}: completions (share), jobs/s before the faults → after | ${h.completions} (${(h.share * 100).toFixed(1)} %), ${h.before.toFixed(0)} → ${h.after.toFixed(0)} |`),
  ];
  return { result, table: rows.join('\n') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const why = cannotRun();
  if (why) {
    console.error(`npm run cluster: ${why}`);
    process.exit(2);
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      log(`${signal}: removing the namespaces and processes`);
      cleanUp();
      const left = leftovers();
      log(`left behind: ${left.namespaces.length + left.processes.length === 0 ? 'nothing' : JSON.stringify(left)}`);
      process.exit(130);
    });
  }
  process.on('exit', cleanUp);
  try {
    const { result, table } = await runCluster();
    cleanUp();
    const left = leftovers();
    result.leftBehind = left;
    console.log(table);
    console.log(`\nLeft behind: ${left.namespaces.length + left.processes.length === 0 ? 'no namespace, link or process' : JSON.stringify(left)}. Logs: ${path.relative(ROOT, OUT)}/`);
    writeFileSync(path.join(OUT, 'result.json'), JSON.stringify(result, null, 2));
    if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(result, null, 2));
    process.exitCode = result.lost === 0 && left.namespaces.length === 0 && left.processes.length === 0 ? 0 : 1;
  } catch (error) {
    cleanUp();
    console.error(error);
    process.exitCode = 1;
  }
}
