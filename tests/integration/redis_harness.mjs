// Real redis-server processes for the multi-host tests, on free ports, with
// nothing written to disk; and helpers to wait for hosts to settle on them.
import { spawn, spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { metrics, startHost, testPlugin, waitFor } from './harness.mjs';

export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// Starts redis-server on `port` (a free one by default); `args` adds settings.
export async function startRedis({ port, args = [] } = {}) {
  port ??= await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  await waitFor(() => /Ready to accept connections/.test(log), `redis-server on ${port} to start:\n${log}`);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    proc,
    log: () => log,
    cli: (...command) => spawnSync('redis-cli', ['-p', String(port), ...command], { encoding: 'utf8' }).stdout.trim(),
    async stop(signal = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill(signal);
        await exited;
      }
    },
  };
}

// A host with the probe plugin on the given Redis instances.
export function startClusterHost(redises, { args = [] } = {}) {
  return startHost({
    plugins: { '10-probe.so': testPlugin('probe') },
    args: [...redises.flatMap((r) => ['--redis', r.url]), ...args],
  });
}

// Waits until `host` has Redis's confirmation for `n` subscriptions (its own
// channel and one per room it has members of): before that, a join may miss
// what other hosts broadcast (the README says so).
// `n` counts the host's own channel and its rooms; the multi-room channel it
// listens to on every Redis is added here.
export async function subscribed(host, n) {
  await waitFor(async () => {
    const m = await metrics(host);
    return m.redis_subscriptions === n + m.redis_instances;
  }, `${n} subscriptions on port ${host.port}`);
}

// PUBLISH of arbitrary bytes over a raw socket to Redis (redis-cli cannot send
// every byte): resolves with Redis's reply line, e.g. ":1" (one subscriber).
export function publishRaw(redis, channel, message) {
  const parts = [Buffer.from('PUBLISH'), Buffer.from(channel), Buffer.isBuffer(message) ? message : Buffer.from(message)];
  const wire = Buffer.concat([
    Buffer.from(`*${parts.length}\r\n`),
    ...parts.flatMap((p) => [Buffer.from(`$${p.length}\r\n`), p, Buffer.from('\r\n')]),
  ]);
  return new Promise((resolve, reject) => {
    const socket = connect(redis.port, '127.0.0.1', () => socket.write(wire));
    let reply = '';
    socket.on('data', (d) => {
      reply += d;
      if (reply.includes('\r\n')) {
        socket.end();
        resolve(reply.split('\r\n')[0]);
      }
    });
    socket.on('error', reject);
  });
}
