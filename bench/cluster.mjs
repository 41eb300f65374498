#!/usr/bin/env node
// Fan-out across hosts through Redis, beside the one-host figure, in one
// sitting: a room of 1,000 members split over two hosts, the publisher on a
// third; messages/s delivered, p99 latency, and the CPU of every process.
//
//   node bench/cluster.mjs [--build build] [--runs 3] [--members 1000] [--messages 2000]
//
// Runs alternate (one host, then three hosts) so that noise from the shared
// machine hits both alike. Loopback only; every run bounded by loadgen's timeout.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const build = resolve(arg('build', join(here, '..', 'build')));
const runs = Number(arg('runs', 3));
const members = Number(arg('members', 1000));
const messages = Number(arg('messages', 2000));

const ticks = 100;  // USER_HZ
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticks;
};

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function start(command, args, ready) {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  const end = Date.now() + 10000;
  while (!ready(log)) {
    if (Date.now() > end || proc.exitCode !== null) throw new Error(`${command} did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return proc;
}

async function host(redis) {
  const port = await freePort();
  const args = ['--port', String(port), '--plugins', join(build, 'bench', 'plugins'), '--log-level', 'warn',
    '--max-output', String(64 << 20), '--max-connections-per-address', '0', ...(redis ? ['--redis', `redis://127.0.0.1:${redis}`] : [])];
  const proc = await start(join(build, 'host', 'microsockets'), args, () => true);
  const end = Date.now() + 10000;
  for (;;) {  // listening once /healthz answers; with Redis, once Redis is reached
    const body = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.text(), () => '');
    if (body === 'ok\n') break;
    if (Date.now() > end) throw new Error(`host on ${port} not healthy: ${body}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { port, proc };
}

function loadgen(publisherPort, memberPorts, pids) {
  const before = pids.map(cpuSeconds);
  const t0 = Date.now();
  const out = execFileSync(join(build, 'bench', 'loadgen'), ['--workload', 'fanout', '--port', String(publisherPort),
    '--clients', String(members), '--messages', String(messages), '--member-ports', memberPorts.join(','),
    '--settle', memberPorts.length > 1 ? '1' : '0', '--timeout', '120'], { encoding: 'utf8' });
  const result = JSON.parse(out.trim().split('\n').pop());
  const wall = result.seconds || (Date.now() - t0) / 1000;
  result.cpu = pids.map((pid, i) => Math.round((100 * (cpuSeconds(pid) - before[i])) / wall));
  return result;
}

const rows = [];
for (let run = 0; run < runs; ++run) {
  {
    const h = await host(null);
    const r = loadgen(h.port, [h.port], [h.proc.pid]);
    rows.push({ setup: 'one host', ...r, cpuText: `host ${r.cpu[0]} %` });
    h.proc.kill('SIGKILL');
  }
  {
    const redisPort = await freePort();
    const redis = await start('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      (log) => /Ready to accept connections/.test(log));
    const [m1, m2, pub] = [await host(redisPort), await host(redisPort), await host(redisPort)];
    const r = loadgen(pub.port, [m1.port, m2.port], [m1.proc.pid, m2.proc.pid, pub.proc.pid, redis.pid]);
    rows.push({ setup: 'three hosts + Redis', ...r, cpuText: `members' hosts ${r.cpu[0]} + ${r.cpu[1]} %, publisher's ${r.cpu[2]} %, Redis ${r.cpu[3]} %` });
    for (const p of [m1, m2, pub]) p.proc.kill('SIGKILL');
    redis.kill('SIGKILL');
  }
}

console.log(`| setup | members | messages | delivered/s | p99 ms | lost | CPU |`);
console.log(`|---|---|---|---|---|---|---|`);
for (const r of rows)
  console.log(`| ${r.setup} | ${members} | ${messages} | ${Math.round(r.rate).toLocaleString('en')} | ${r.p99_ms.toFixed(1)} | ${r.lost} | ${r.cpuText} |`);
