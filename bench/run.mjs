#!/usr/bin/env node
// Runs every workload against microsockets and its peers, and prints a
// markdown table; writes results.json and the room-size chart beside it.
//
//   node bench/run.mjs [--build build] [--out bench/results] [--runs 3] [--smoke]
//                      [--only W1,W2] [--servers microsockets,ws]
//
// The server is pinned to core 0 and the generator to core 1. Every run is
// bounded in count and time and talks to 127.0.0.1 only. --smoke runs tiny
// sizes once, to keep the suite working (it is part of the tests).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
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
const loadgen = join(build, 'bench', 'loadgen');
const cores = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
const pin = (core, command) => (cores > 1 ? ['taskset', ['-c', String(core), ...command]] : [command[0], command.slice(1)]);

// The peers' npm packages and gnuplot are installed here, at bench time.
function ensureTools() {
  const peers = join(here, 'peers');
  if (!existsSync(join(peers, 'node_modules'))) execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: peers, stdio: 'inherit' });
  if (smoke || spawnSync('sh', ['-c', 'command -v gnuplot']).status === 0) return;
  execFileSync('sh', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox'], { stdio: 'inherit' });
}
ensureTools();

const servers = {
  microsockets: {
    label: 'microsockets (1 thread)',
    protocol: 'json',
    command: (port) => [join(build, 'host', 'microsockets'), '--port', String(port), '--plugins', join(build, 'bench', 'plugins'), '--log-level', 'warn', '--max-output', String(64 << 20)],
  },
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

const size = (full, tiny) => (smoke ? tiny : full);
const workloads = [
  { id: 'W1', name: 'fan-out, 1,000 members', metric: 'rate', unit: 'msg/s', args: ['--workload', 'fanout', '--clients', size(1000, 50), '--messages', size(2000, 40)] },
  { id: 'W2', name: 'echo, 100 closed loops', metric: 'rate', unit: 'round trips/s', args: ['--workload', 'echo', '--clients', size(100, 10), '--seconds', size(10, 1)] },
  { id: 'W3', name: 'idle, 10,000 connections in 100 rooms', metric: 'kib_per_connection', unit: 'KiB/conn', args: ['--workload', 'idle', '--clients', size(10000, 200), '--rooms', size(100, 10)] },
  { id: 'W4', name: 'connect + join + close, 50 at once', metric: 'rate', unit: 'cycles/s', args: ['--workload', 'connect', '--concurrency', size(50, 5), '--seconds', size(5, 1)] },
  ...[10, 100, 1000, 10000].map((members) => ({
    id: `W5-${members}`,
    name: `fan-out sweep, ${members} members`,
    metric: 'rate',
    unit: 'msg/s',
    sweep: members,
    args: ['--workload', 'fanout', '--clients', size(members, Math.min(members, 100)), '--messages', size(Math.min(20000, 2_000_000 / members), 20)],
  })),
].filter((w) => !only || only.has(w.id) || (w.sweep && only.has('W5')));

let nextPort = 9300 + Math.floor(Math.random() * 500);

function waitForPort(port, deadlineMs = 10000) {
  const end = Date.now() + deadlineMs;
  return new Promise((resolvePort, reject) => {
    const attempt = () => {
      const socket = createConnection(port, '127.0.0.1');
      socket.on('connect', () => socket.end(resolvePort));
      socket.on('error', () => (Date.now() > end ? reject(new Error(`port ${port} never opened`)) : setTimeout(attempt, 50)));
    };
    attempt();
  });
}

async function runOnce(serverName, workload) {
  const server = servers[serverName];
  const port = nextPort++;
  const [cmd, cmdArgs] = pin(0, server.command(port));
  const proc = spawn(cmd, cmdArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  try {
    await waitForPort(port);
    const [gen, genArgs] = pin(1, [loadgen, '--port', port, '--protocol', server.protocol, '--server-pid', proc.pid, '--timeout', 120, ...workload.args].map(String));
    const result = spawnSync(gen, genArgs, { encoding: 'utf8', timeout: 180_000 });
    if (result.status !== 0) throw new Error(`loadgen failed on ${serverName} ${workload.id}: ${result.stderr}${stderr}`);
    return JSON.parse(result.stdout.trim().split('\n').pop());
  } finally {
    await stopServer(serverName, proc, () => stderr);
  }
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

const results = {};
for (const workload of workloads) {
  results[workload.id] = {};
  for (const name of chosenServers) {
    if (servers[name].workloads && !servers[name].workloads.includes(workload.id)) continue;
    const samples = [];
    for (let i = 0; i < runs; i++) samples.push(await runOnce(name, workload));
    const values = samples.map((s) => s[workload.metric]);
    const mid = samples[values.indexOf(median(values))];
    results[workload.id][name] = { median: median(values), min: Math.min(...values), max: Math.max(...values), sample: mid, samples };
    process.stderr.write(`${workload.id} ${name}: ${median(values)} ${workload.unit}\n`);
  }
}

// The table: medians with their spread, latency, lost messages, CPU of both sides.
const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : Number(x.toFixed(2)).toString());
const lines = [
  '| workload | server | median | spread (min–max) | p50 / p99 ms | lost | server CPU | generator CPU | vs ws | vs floor |',
  '|---|---|---|---|---|---|---|---|---|---|',
];
for (const workload of workloads) {
  const ratioTo = (name, r, base) => {
    const reference = results[workload.id][base]?.median;
    if (!reference || name === base) return '';
    return workload.metric === 'kib_per_connection' ? `${fmt(r.median / reference)}x the memory` : `${fmt(r.median / reference)}x`;
  };
  for (const [name, r] of Object.entries(results[workload.id])) {
    const s = r.sample;
    lines.push(
      `| ${workload.id} ${workload.name} | ${servers[name].label} | ${fmt(r.median)} ${workload.unit} | ${fmt(r.min)}–${fmt(r.max)} | ` +
        `${s.p50_ms !== undefined ? `${fmt(s.p50_ms)} / ${fmt(s.p99_ms)}` : ''} | ${s.lost ?? ''} | ` +
        `${s.server_cpu !== undefined ? `${s.server_cpu}%` : ''} | ${s.gen_cpu !== undefined ? `${s.gen_cpu}%` : ''} | ${ratioTo(name, r, 'ws')} | ${ratioTo(name, r, 'floor')} |`,
    );
  }
}
const table = lines.join('\n');
console.log(table);

const failed = Object.entries(results).flatMap(([id, byServer]) =>
  Object.entries(byServer).filter(([, r]) => r.samples.some((s) => s.lost > 0 || s.disconnected > 0 || s.failures > 0)).map(([name]) => `${id} ${name}`),
);

if (!smoke) {
  mkdirSync(out, { recursive: true });
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(),
    cpu: execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], { encoding: 'utf8' }).trim(),
    runs,
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
