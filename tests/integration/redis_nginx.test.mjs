// The chat story with Debian's nginx in front of two hosts as the load
// balancer: plain round robin, no sticky sessions, rooms shared through Redis.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client, waitFor } from './harness.mjs';
import { freePort, startClusterHost, startRedis, subscribed } from './redis_harness.mjs';

// The configuration the README shows, with every path nginx writes in `dir`
// so that it runs as any user.
export function nginxConfig({ dir, port, upstreams }) {
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;

  upstream microsockets {
${upstreams.map((u) => `    server ${u};`).join('\n')}
  }
  map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://microsockets;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 1h;  # the host pings idle clients; nginx must not cut them first
    }
  }
}
`;
}

async function startNginx(upstreams) {
  const dir = mkdtempSync(join(tmpdir(), 'microsockets-nginx-'));
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig({ dir, port, upstreams }));
  const proc = spawn('nginx', ['-p', dir, '-e', 'stderr', '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`nginx exited:\n${log}`);
    return fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
  }, 'nginx to proxy');
  return {
    url: `ws://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGQUIT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('the chat story through nginx balancing two hosts', async (t) => {
  const redis = await startRedis();
  const hosts = await Promise.all([1, 2].map(() => startClusterHost([redis])));
  const nginx = await startNginx(hosts.map((h) => `127.0.0.1:${h.port}`));
  t.after(async () => {
    await nginx.stop();
    await Promise.all(hosts.map((h) => h.stop()));
    await redis.stop();
  });
  const clients = [];
  for (let i = 0; i < 4; ++i) clients.push(await Client.open(nginx.url));
  // Round robin: the clients landed on both hosts (the host id is the top 24 bits of an id).
  const hostIds = new Set();
  for (const client of clients) hostIds.add(BigInt(await client.ask('whoami')) >> 40n);
  assert.equal(hostIds.size, 2);

  for (const client of clients) assert.equal(await client.ask('join', 'lobby', 'joined'), 'lobby');
  await Promise.all(hosts.map((h) => subscribed(h, 2)));
  const [alice, ...others] = clients;
  alice.send('say', 'lobby|1|hello through nginx');
  for (const client of others) assert.equal(await client.next('said'), 'hello through nginx');
  assert.match(await alice.ask('members', 'lobby'), /^4\|/);
  for (const client of clients) await client.close();
});
