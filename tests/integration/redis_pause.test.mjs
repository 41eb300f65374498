// A Redis that stops answering (SIGSTOP) while a client broadcasts as fast as
// it can: the host notices within 3 s (/healthz degraded, one line), its
// memory stays bounded (what waits for Redis is capped, the rest dropped and
// counted), and when Redis resumes the hosts come back by themselves without
// closing healthy clients.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Client, env, metrics, waitFor } from './harness.mjs';
import { startClusterHost, startRedis, subscribed } from './redis_harness.mjs';

const MiB = 1024 * 1024;
const rss = (host) => Number(readFileSync(`/proc/${host.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/)[1]) * 1024;
const health = async (host) => (await fetch(`${host.httpUrl}/healthz`)).text();

// Sends `say` to `room` as fast as the socket takes it until `ms` have passed,
// calling `sample` between bursts; returns how many were sent.
async function flood(client, room, ms, sample) {
  const text = JSON.stringify({ event: 'say', payload: `${room}|1|${'x'.repeat(100)}` });
  const end = Date.now() + ms;
  let sent = 0;
  while (Date.now() < end) {
    if (client.ws.bufferedAmount < MiB) {
      for (let i = 0; i < 200; ++i) client.ws.send(text);
      sent += 200;
    }
    sample();
    await new Promise((r) => setImmediate(r));
  }
  return sent;
}

for (const threads of [1, 2]) {
  test(`--threads ${threads}: a paused Redis is noticed within 3 s, memory stays bounded, all comes back after SIGCONT`, async (t) => {
    const redis = await startRedis();
    const hosts = await Promise.all([0, 1].map(() => startClusterHost([redis], { args: ['--threads', String(threads)] })));
    t.after(async () => {
      redis.proc.kill('SIGCONT');
      const stops = await Promise.allSettled(hosts.map((h) => h.stop()));
      await redis.stop();
      const failed = stops.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason;
    });
    const [a, b] = await Promise.all(hosts.map((h) => Client.open(h.url)));
    await joined(a, 'flood');
    await joined(b, 'flood');
    await Promise.all(hosts.map((h) => subscribed(h, 2)));
    a.send('say', 'flood|1|before');
    assert.equal(await b.next('said'), 'before');
    const start = rss(hosts[0]);

    redis.proc.kill('SIGSTOP');
    const stoppedAt = Date.now();
    await waitFor(async () => /^degraded/.test(await health(hosts[0])), '/healthz to say degraded', 3000);
    assert.ok(Date.now() - stoppedAt <= 3000);
    await hosts[0].waitForLog(/redis 127\.0\.0\.1:\d+ lost \(no reply within 2\.0 s\)/);
    const publishedBefore = (await metrics(hosts[0])).redis_published_total;

    let peak = start;
    const sent = await flood(a, 'flood', env.sanitized ? 6000 : 20000, () => (peak = Math.max(peak, rss(hosts[0]))));
    const m = await metrics(hosts[0]);
    const droppedTotal = Object.entries(m).filter(([k]) => k.startsWith('redis_dropped_total')).reduce((n, [, v]) => n + v, 0);
    assert.ok(droppedTotal > 0, `dropped: ${JSON.stringify(m)}`);
    // published counts what Redis accepted: nothing while it is paused.
    assert.equal(m.redis_published_total, publishedBefore);
    if (!env.sanitized) assert.ok(peak - start < 64 * MiB, `RSS grew ${((peak - start) / MiB).toFixed(1)} MiB for ${sent} broadcasts`);
    // One line for the loss, not one per attempt or per message.
    assert.ok(hosts[0].log().match(/ lost \(/g).length <= 2, hosts[0].log());
    assert.equal(a.closed, null);

    redis.proc.kill('SIGCONT');
    for (const h of hosts) await waitFor(async () => (await health(h)) === 'ok\n', '/healthz ok again', 10000);
    await Promise.all(hosts.map((h) => subscribed(h, 2)));
    await hosts[0].waitForLog(/redis 127\.0\.0\.1:\d+ back after/);
    // What was sent while Redis was paused never bursts into the other host's
    // healthy client, and broadcasts cross again: one sent while the last of
    // the backlog drains may still be dropped (counted), so they go on until one arrives.
    let tries = 0;
    await waitFor(async () => {
      if (b.inbox.some((x) => /^after /.test(x.payload))) return true;
      a.send('say', `flood|1|after ${++tries}`);
      await new Promise((r) => setTimeout(r, 200));
      return false;
    }, 'a broadcast after Redis resumed', 20000);
    assert.equal(b.closed, null);
    assert.equal(a.closed, null);
    b.inbox.length = 0;  // the broadcasts before "after", if any came through
    assert.match(await b.ask('members', 'flood'), /^2\|/);
    await a.close();
    await b.close();
  });
}

async function joined(client, room) {
  assert.equal(await client.ask('join', room, 'joined'), room);
}
