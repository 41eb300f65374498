#!/usr/bin/env node
// Runs every workload against microsockets and its peers, and prints a
// markdown table; writes results.json and the room-size chart beside it.
//
//   node bench/run.mjs [--build build] [--out bench/results] [--runs 3] [--smoke]
//                      [--only W1,W2,W3-18k] [--servers microsockets,ws]
//                      [--before OLD_BINARY [--before-plugins DIR]] [--perf]
//
// The server is pinned to core 0 and the generator to core 1. Every run is
// bounded in count and time and talks to 127.0.0.1 only. --smoke runs tiny
// sizes once, to keep the suite working (it is part of the tests).
// --only takes row ids or groups: W2 is W2, W2-1k and W2-8k.
// --before adds "microsockets (before)": another build of the host, with the
// same plugins and flags, measured in the same sitting (runs alternate between
// servers, so drift in the machine's load falls on both).
// --perf adds, to each W2 row, one run per server under `perf stat` (not in the
// medians) and a table of the server's system calls per round trip.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => {
    if (a.startsWith('--')) pairs.push([a.slice(2), all[i + 1]?.startsWith('--') || all[i + 1] === undefined ? true : all[i + 1]]);
    return pairs;
  }, []),
);
const smoke = Boolean(args.smoke);
const build = resolve(args.build ?? join(here, '..', 'build'));
const out = resolve(args.out ?? join(here, 'results'));
const runs = Number(args.runs ?? (smoke ? 1 : 3));
const only = args.only ? new Set(String(args.only).split(',')) : null;
const perf = Boolean(args.perf);
const before = args.before ? resolve(String(args.before)) : null;
if (before && !existsSync(before)) throw new Error(`--before: no such binary: ${before}`);
const loadgen = join(build, 'bench', 'loadgen');
const cores = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
// Servers and the generator start with the soft limit on open files raised to
// the hard one: W3-18k needs 18,000 sockets on each side.
const openFileLimit = (() => {
  const hard = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  return hard === 'unlimited' ? Number(execFileSync('cat', ['/proc/sys/fs/nr_open'], { encoding: 'utf8' })) : Number(hard);
})();
const raised = (command) => ['sh', '-c', 'ulimit -n "$(ulimit -Hn)" && exec "$@"', 'sh', ...command];
const pin = (core, command) => {
  const full = raised(command);
  return cores > 1 ? ['taskset', ['-c', String(core), ...full]] : [full[0], full.slice(1)];
};

// The peers' npm packages and gnuplot are installed here, at bench time.
function ensureTools() {
  const peers = join(here, 'peers');
  if (!existsSync(join(peers, 'node_modules'))) execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: peers, stdio: 'inherit' });
  if (perf && spawnSync('perf', ['--version']).status !== 0)
    execFileSync('sh', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf'], { stdio: 'inherit' });
  if (smoke || spawnSync('sh', ['-c', 'command -v gnuplot']).status === 0) return;
  execFileSync('sh', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox'], { stdio: 'inherit' });
}
ensureTools();

const hostCommand = (binary, plugins) => (port) =>
  // Every load comes from 127.0.0.1: no limit per client address.
  [binary, '--port', String(port), '--plugins', plugins, '--log-level', 'warn', '--max-output', String(64 << 20),
   '--max-connections-per-address', '0'];
const servers = {
  microsockets: {
    label: 'microsockets (1 thread)',
    protocol: 'json',
    command: hostCommand(join(build, 'host', 'microsockets'), join(build, 'bench', 'plugins')),
  },
  ...(before && {
    'microsockets-before': {
      label: 'microsockets (before)',
      protocol: 'json',
      command: hostCommand(before, resolve(String(args['before-plugins'] ?? join(build, 'bench', 'plugins')))),
    },
  }),
  'microsockets-2t': {
    label: 'microsockets (2 threads)',
    protocol: 'json',
    command: (port) => [...servers.microsockets.command(port), '--threads', '2'],
    workloads: ['W1', 'W2'],
  },
  // The measuring stick: a minimal C epoll server (peers/floor.c); every figure is also shown as a ratio to it.
  floor: { label: 'floor (minimal C epoll)', protocol: 'json', command: (port) => [join(build, 'bench', 'floor'), String(port)] },
  ws: { label: 'Node ws 8', protocol: 'json', command: (port) => ['node', join(here, 'peers', 'ws-server.mjs'), String(port)] },
  socketio: { label: 'Socket.IO 4.8', protocol: 'socketio', command: (port) => ['node', join(here, 'peers', 'socketio-server.mjs'), String(port)] },
};
const chosenServers = args.servers ? String(args.servers).split(',') : Object.keys(servers);
if (before && !chosenServers.includes('microsockets-before')) {
  const at = chosenServers.indexOf('microsockets');
  chosenServers.splice(at < 0 ? 0 : at + 1, 0, 'microsockets-before');
}
for (const name of chosenServers) if (!servers[name]) throw new Error(`unknown server '${name}' (known: ${Object.keys(servers).join(', ')})`);

const size = (full, tiny) => (smoke ? tiny : full);
// A row's group: W2-8k is in W2 (for --only and a server's `workloads`).
const group = (id) => id.split('-')[0];
const workloads = [
  { id: 'W1', name: 'fan-out, 1,000 members', metric: 'rate', unit: 'msg/s', args: ['--workload', 'fanout', '--clients', size(1000, 50), '--messages', size(2000, 40)] },
  ...[
    ['W2', '64 B', 64],
    ['W2-1k', '1 KiB', 1024],
    ['W2-8k', '8 KiB', 8192],
  ].map(([id, label, bytes]) => ({
    id,
    name: `echo, 100 closed loops, ${label}`,
    metric: 'rate',
    unit: 'round trips/s',
    perOp: 'round_trip',
    args: ['--workload', 'echo', '--clients', size(100, 10), '--seconds', size(10, 0.5), '--payload', bytes],
  })),
  ...[
    ['W3-1k', '1,000', 1000, 200, 'minimal'],
    ['W3-18k', '18,000', 18000, 400, 'minimal'],
    ['W3-browser', '1,000', 1000, 200, 'browser'],
  ].map(([id, label, clients, tiny, headers]) => ({
    id,
    name: `idle, ${label} connections in 100 rooms${headers === 'browser' ? ", a browser's upgrade headers" : ''}`,
    metric: 'kib_per_connection',
    unit: 'KiB/conn',
    clients: size(clients, tiny),
    args: ['--workload', 'idle', '--clients', size(clients, tiny), '--rooms', size(100, 10), '--headers', headers],
  })),
  { id: 'W4', name: 'connect + join + close, 50 at once', metric: 'rate', unit: 'cycles/s', perOp: 'cycle', args: ['--workload', 'connect', '--concurrency', size(50, 5), '--seconds', size(5, 1)] },
  ...[10, 100, 1000, 10000].map((members) => ({
    id: `W5-${members}`,
    name: `fan-out sweep, ${members} members`,
    metric: 'rate',
    unit: 'msg/s',
    sweep: members,
    args: ['--workload', 'fanout', '--clients', size(members, Math.min(members, 100)), '--messages', size(Math.min(20000, 2_000_000 / members), 20)],
  })),
]
  .filter((w) => !only || only.has(w.id) || only.has(group(w.id)))
  .filter((w) => {
    // Each side holds one socket per connection, and microsockets keeps 64 descriptors spare.
    if (!w.clients || w.clients + 200 <= openFileLimit) return true;
    console.error(`skipping ${w.id}: ${w.clients} connections need more than the open-file limit of ${openFileLimit}`);
    return false;
  });

// A port nobody listens on, from the kernel: a fixed range could meet another listener.
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

// Resolves once the server listens; fails at once if it exits first (a binary
// being relinked, a bad flag), with what it said.
function waitForPort(port, proc, stderr, deadlineMs = 10000) {
  const end = Date.now() + deadlineMs;
  return new Promise((resolvePort, reject) => {
    const attempt = () => {
      if (proc.exitCode !== null || proc.signalCode !== null)
        return reject(new Error(`server exited before listening (exit ${proc.exitCode}, signal ${proc.signalCode}): ${proc.spawnargs.join(' ')}\n${stderr()}`));
      const socket = createConnection(port, '127.0.0.1');
      socket.on('connect', () => socket.end(resolvePort));
      socket.on('error', () => (Date.now() > end ? reject(new Error(`port ${port} never opened`)) : setTimeout(attempt, 50)));
    };
    attempt();
  });
}

// System calls counted under --perf, by the names shown in its table.
const syscallGroups = {
  reads: ['read', 'readv', 'recvfrom', 'recvmsg'],
  writes: ['write', 'writev', 'sendto', 'sendmsg'],
  'epoll waits': ['epoll_wait', 'epoll_pwait'],
  epoll_ctl: ['epoll_ctl'],
  futex: ['futex'],
};
const perfEvents = ['task-clock', 'raw_syscalls:sys_enter', ...Object.values(syscallGroups).flat().map((s) => `syscalls:sys_enter_${s}`)];

// perf stat's counts in `file`, by the names shown in the table: task-clock
// in ms, the rest in calls.
function readPerf(file, stderr) {
  if (!existsSync(file)) throw new Error(`perf stat wrote nothing: ${stderr}`);
  const counts = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [value, , event] = line.split(',');
    if (event && perfEvents.includes(event)) counts[event.replace(/^(raw_)?syscalls:sys_enter_?/, '') || 'all syscalls'] = Number(value);
  }
  unlinkSync(file);
  return counts;
}
const perfStat = (file) => ['perf', 'stat', '-x', ',', '-o', file, '-e', perfEvents.join(',')];

// perf stat attached to the server (all its threads) while the generator runs:
// counts for the whole run, the few connects and joins before the measured window included.
function startPerf(pid) {
  const file = join(tmpdir(), `bench-perf-${pid}.csv`);
  const [cmd, cmdArgs] = cores > 1 ? ['taskset', ['-c', '1', 'perf']] : ['perf', []];
  const proc = spawn(cmd, [...cmdArgs, ...perfStat(file).slice(1), '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const closed = new Promise((r) => proc.on('close', r));
  return {
    async stop() {
      proc.kill('SIGINT');
      await closed;
      return readPerf(file, stderr);
    },
  };
}

async function runOnce(serverName, workload, { underPerf = false } = {}) {
  const server = servers[serverName];
  const port = await freePort();
  const [cmd, cmdArgs] = pin(0, server.command(port));
  const proc = spawn(cmd, cmdArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  let sample;
  try {
    await waitForPort(port, proc, () => stderr);
    const counting = underPerf ? startPerf(proc.pid) : null;
    if (counting) await new Promise((r) => setTimeout(r, 300));  // perf attaches
    // Under perf the generator runs inside `perf stat` too: its own system calls and CPU.
    const genPerfFile = join(tmpdir(), `bench-perf-generator-${proc.pid}.csv`);
    const genCommand = [loadgen, '--port', port, '--protocol', server.protocol, '--server-pid', proc.pid, '--timeout', 120, ...workload.args];
    const [gen, genArgs] = pin(1, [...(counting ? [...perfStat(genPerfFile), '--'] : []), ...genCommand].map(String));
    // Asynchronous: this process keeps draining perf's pipe meanwhile.
    const result = await new Promise((done) => {
      const child = spawn(gen, genArgs, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
      let stdout = '', stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (status) => done({ status, stdout, stderr }));
    });
    const counts = counting ? await counting.stop() : null;
    if (result.status !== 0) throw new Error(`loadgen failed on ${serverName} ${workload.id}: ${result.stderr}${stderr}`);
    sample = JSON.parse(result.stdout.trim().split('\n').pop());
    if (counts) {
      sample.perf = counts;
      sample.perfGenerator = readPerf(genPerfFile, result.stderr);
    }
  } catch (error) {
    await stopServer(serverName, proc, () => stderr).catch(() => {});  // the first error is the one to show
    throw error;
  }
  await stopServer(serverName, proc, () => stderr);
  return sample;
}

// SIGTERM, as a user stops a server; microsockets must then exit 0 without a
// sanitizer report (its shutdown path and LeakSanitizer run in the ASan
// build). SIGKILL only if it is still there after 15 s, and that fails too.
async function stopServer(serverName, proc, stderr) {
  const closed = new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.on('close', r)));
  proc.kill('SIGTERM');
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, 15_000);
  await closed;
  clearTimeout(timer);
  if (!serverName.startsWith('microsockets')) return;  // the peers are not ours to judge
  const report = stderr().match(/(ERROR: \w+Sanitizer|runtime error:).*/);
  if (timedOut || report || proc.exitCode !== 0)
    throw new Error(`${serverName} did not stop cleanly on SIGTERM (exit ${proc.exitCode}, signal ${proc.signalCode}):\n${stderr()}`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Each round runs every server once, so that what changes in the machine's
// load over a workload's runs falls on every server alike.
const results = {};
for (const workload of workloads) {
  results[workload.id] = {};
  const names = chosenServers.filter((name) => !servers[name].workloads || servers[name].workloads.includes(group(workload.id)));
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let i = 0; i < runs; i++)
    for (const name of names) {
      samples[name].push(await runOnce(name, workload));
      process.stderr.write(`${workload.id} ${name} run ${i + 1}/${runs}: ${samples[name].at(-1)[workload.metric]} ${workload.unit}\n`);
    }
  for (const name of names) {
    const values = samples[name].map((s) => s[workload.metric]);
    const mid = samples[name][values.indexOf(median(values))];
    results[workload.id][name] = { median: median(values), min: Math.min(...values), max: Math.max(...values), sample: mid, samples: samples[name] };
    if (workload.perOp) results[workload.id][name].serverUsPerOp = median(samples[name].map((s) => s[`server_us_per_${workload.perOp}`]));
    if (perf && workload.perOp) results[workload.id][name].perf = await runOnce(name, workload, { underPerf: true });
  }
}

// The table: medians with their spread, latency, lost messages, CPU of both sides.
const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : Number(x.toFixed(2)).toString());
const lines = [
  '| workload | server | median | spread (min–max) | p50 / p99 ms | lost | server CPU | generator CPU | server CPU per round trip (W4: per cycle) | vs ws | vs floor |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const workload of workloads) {
  const ratioTo = (name, r, base) => {
    const reference = results[workload.id][base]?.median;
    if (!reference || name === base) return '';
    return workload.metric === 'kib_per_connection' ? `${fmt(r.median / reference)}x the memory` : `${fmt(r.median / reference)}x`;
  };
  // Microseconds of server CPU per round trip or cycle (median of the runs), and as a ratio to floor's.
  const perOp = (name, r) => {
    if (r.serverUsPerOp === undefined) return '';
    const reference = results[workload.id].floor?.serverUsPerOp;
    const ratio = reference && name !== 'floor' ? ` (${fmt(r.serverUsPerOp / reference)}x floor)` : '';
    return `${fmt(r.serverUsPerOp)} µs${ratio}`;
  };
  for (const [name, r] of Object.entries(results[workload.id])) {
    const s = r.sample;
    lines.push(
      `| ${workload.id} ${workload.name} | ${servers[name].label} | ${fmt(r.median)} ${workload.unit} | ${fmt(r.min)}–${fmt(r.max)} | ` +
        `${s.p50_ms !== undefined ? `${fmt(s.p50_ms)} / ${fmt(s.p99_ms)}` : ''} | ${s.lost ?? ''} | ` +
        `${s.server_cpu !== undefined ? `${s.server_cpu}%` : ''} | ${s.gen_cpu !== undefined ? `${s.gen_cpu}%` : ''} | ${perOp(name, r)} | ` +
        `${ratioTo(name, r, 'ws')} | ${ratioTo(name, r, 'floor')} |`,
    );
  }
}
// Under --perf: the server's and the generator's system calls per round trip (W4: per cycle), from one extra run each.
const perfRows = workloads.filter((w) => w.perOp).flatMap((w) =>
  Object.entries(results[w.id]).filter(([, r]) => r.perf).map(([name, r]) => [w, name, r.perf]),
);
if (perfRows.length) {
  const groups = Object.keys(syscallGroups);
  lines.push(
    '',
    'System calls per round trip, W4 per cycle (`perf stat`, one extra run per server, not in the medians above): the server\'s, then the generator\'s against it:',
    '',
    `| workload | server | rate under perf | all syscalls | ${groups.join(' | ')} | other | server CPU µs (task-clock) | generator syscalls | generator CPU µs |`,
    `|---|---|---|---|${groups.map(() => '---|').join('')}---|---|---|---|`,
  );
  for (const [w, name, s] of perfRows) {
    const count = s.round_trips ?? s.cycles;
    const per = (n) => (count ? n / count : 0);
    const byGroup = groups.map((g) => syscallGroups[g].reduce((sum, call) => sum + (s.perf[call] ?? 0), 0));
    const other = s.perf['all syscalls'] - byGroup.reduce((a, b) => a + b, 0);
    lines.push(
      `| ${w.id} ${w.name} | ${servers[name].label} | ${fmt(s.rate)} | ${fmt(per(s.perf['all syscalls']))} | ` +
        `${byGroup.map((n) => fmt(per(n))).join(' | ')} | ${fmt(per(other))} | ${fmt(per(s.perf['task-clock'] * 1000))} | ` +
        `${fmt(per(s.perfGenerator['all syscalls']))} | ${fmt(per(s.perfGenerator['task-clock'] * 1000))} |`,
    );
  }
}
const table = lines.join('\n');
console.log(table);

const failed = Object.entries(results).flatMap(([id, byServer]) =>
  Object.entries(byServer)
    .filter(([, r]) => [...r.samples, ...(r.perf ? [r.perf] : [])].some((s) => s.lost > 0 || s.disconnected > 0 || s.failures > 0))
    .map(([name]) => `${id} ${name}`),
);

if (!smoke) {
  mkdirSync(out, { recursive: true });
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(),
    cpu: execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], { encoding: 'utf8' }).trim(),
    runs,
    open_file_limit: openFileLimit,
    ...(before && { before }),
  };
  writeFileSync(join(out, 'results.json'), JSON.stringify({ meta, results }, null, 2));
  writeFileSync(join(out, 'results.md'), `${table}\n`);
  const sweep = workloads.filter((w) => w.sweep);
  if (sweep.length) {
    const data = sweep.map((w) => [w.sweep, ...['microsockets', 'ws', 'socketio'].map((n) => results[w.id][n]?.median ?? 'NaN')].join(' '));
    writeFileSync(join(out, 'fanout-sweep.dat'), `# members microsockets ws socketio (delivered msg/s)\n${data.join('\n')}\n`);
    const plot = spawnSync('gnuplot', {
      input: [
        'set terminal svg size 720,420 font "sans,12"',
        `set output "${join(out, 'fanout-sweep.svg')}"`,
        'set title "Fan-out: delivered messages per second by room size"',
        'set logscale xy',
        'set xlabel "members in the room"',
        'set ylabel "delivered messages/s"',
        'set key top left',
        'set grid',
        `plot "${join(out, 'fanout-sweep.dat')}" using 1:2 with linespoints lw 2 title "microsockets", ` +
          `"" using 1:3 with linespoints lw 2 title "Node ws 8", "" using 1:4 with linespoints lw 2 title "Socket.IO 4.8"`,
      ].join('\n'),
      encoding: 'utf8',
    });
    if (plot.status !== 0) console.error(`gnuplot failed: ${plot.stderr}`);
  }
}

if (failed.length) {
  console.error(`lost messages, disconnects or failed connects in: ${failed.join(', ')}`);
  process.exit(1);
}
