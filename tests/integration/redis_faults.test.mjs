// What a hostile Redis, a wrong password or a paused host must not do to a
// cluster: forged messages never reach a client, a refused AUTH costs a few
// log lines and backs off, a host that paused past its lease gets its
// members back. Real redis-server, real hosts, raw sockets to Redis.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, env, metrics, startHost, testPlugin, waitFor } from './harness.mjs';
import { publishRaw, startClusterHost, startRedis, subscribed } from './redis_harness.mjs';

async function joined(client, room) {
  assert.equal(await client.ask('join', room, 'joined'), room);
}

// The way the hosts write fields: "<length>:<bytes>", lengths in bytes.
// A message between hosts (host/src/redis_message.hpp): the kind, the sent
// time, the fields.
function message(kind, fields, sent = Date.now()) {
  return Buffer.concat([
    Buffer.from(kind),
    ...[String(sent), ...fields].map((f) => {
      const bytes = Buffer.isBuffer(f) ? f : Buffer.from(f);
      return Buffer.concat([Buffer.from(`${bytes.length}:`), bytes]);
    }),
  ]);
}

async function cluster(t, hostCount, { redisArgs = [], hostArgs = [] } = {}) {
  const redis = await startRedis({ args: redisArgs });
  const hosts = await Promise.all(Array.from({ length: hostCount }, () => startClusterHost([redis], { args: hostArgs })));
  t.after(async () => {
    const stops = await Promise.allSettled(hosts.map((h) => h.stop()));
    await redis.stop();
    const failed = stops.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  });
  return { redis, hosts };
}

for (const threads of [1, 2]) {
  test(`--threads ${threads}: no forged message reaches a client; the member stays open and a real broadcast arrives intact`, async (t) => {
    const { redis, hosts } = await cluster(t, 2, { hostArgs: ['--threads', String(threads)] });
    const [a, a2, b] = await Promise.all([0, 0, 1].map((i) => Client.open(hosts[i].url)));
    for (const client of [a, a2, b]) await joined(client, 'forge');
    await Promise.all(hosts.map((h) => subscribed(h, 2)));
    const id = BigInt(await a.ask('whoami'));
    const hostHex = (id >> 40n).toString(16);
    const room = 'ms:room:forge';
    const mine = `ms:host:${hostHex}`;
    const good = (payload) => message('b', ['abc', '1', '0', 'said', payload, '0', 'forge']);
    const closeFrame = Buffer.from([0x88, 0x02, 0x0f, 0xa0]);  // close 4000
    const forged = [
      [room, Buffer.from('garbage, not a message at all')],
      [room, good('truncated').subarray(0, 20)],
      [room, good('x'.repeat(10 * 1024 * 1024))],  // 10 MB, over --max-message
      [room, message('b', ['abc', '2', '0', closeFrame, 'forge'])],  // the old layout: a raw close frame
      [room, message('b', ['abc', '3', '0', Buffer.from([0x81, 0x05, 0x68, 0x69]), 'forge'])],  // a frame with a wrong length
      [room, message('b', ['abc', '4', '0', Buffer.from([0x82, 0x01, 0x00]), 'forge'])],  // a binary frame
      [room, message('b', ['abc', '5', '0', 'said', Buffer.from([0x68, 0xff, 0x69]), '0', 'forge'])],  // invalid UTF-8
      [room, message('b', ['abc', '6', '0', Buffer.from([0xed, 0xa0, 0x80]), 'hi', '0', 'forge'])],  // a surrogate as event
      [room, message('b', ['abc', '7', '0', 'said', '{"not": json', '1', 'forge'])],  // said JSON, is not
      [room, message('b', ['abc', '8', '0', 'said', 'hi', '0', 'x'.repeat(300)])],  // over --max-room-name
      [room, Buffer.from('b99999:abc')],  // a length past the end
      [room, Buffer.from('b3:abc1:10:1:4:said2:hi1:05:forge')],  // no sent time (the layout before it)
      [room, message('z', ['abc', 'forge'])],  // unknown kind
      [mine, message('e', [String(id), 'said', Buffer.from([0xc3, 0x28]), '0'])],
      [mine, message('e', [String(id), 'said', '[1,', '1'])],
      [mine, message('c', [String(id), '1000', 'r'.repeat(200)])],
      [mine, message('c', [String(id), 'none', 'bye'])],
      [mine, message('j', [String(id), 'x'.repeat(300)])],
    ];
    // Well formed, but sent longer than --redis-timeout ago: what a stalled
    // Redis's backlog looks like when it resumes.
    const stale = [[room, message('b', ['abc', '9', '0', 'said', 'stale', '0', 'forge'], Date.now() - 10000)]];
    for (const [channel, bytes] of [...forged, ...stale]) assert.match(await publishRaw(redis, channel, bytes), /^:\d+$/);
    // host 1 subscribes to both channels: every forged message reached it.
    await waitFor(async () => (await metrics(hosts[0])).redis_received_invalid_total === forged.length,
      `${forged.length} invalid messages counted`, 10000);
    await waitFor(async () => (await metrics(hosts[0])).redis_received_stale_total === stale.length, 'the stale message counted', 10000);
    b.send('say', 'forge|1|the real one');
    assert.equal(await a.next('said'), 'the real one');  // nothing came before it
    assert.equal(await a2.next('said'), 'the real one');
    assert.equal(a.closed, null);
    assert.equal(a2.closed, null);
    assert.equal(await a.ask('rooms'), 'forge');  // the forged join did nothing
    const log = hosts[0].log();
    assert.match(log, /a message of \d+ bytes from Redis dropped/);
    assert.match(log, /cluster: a message 10\.\d s old dropped \(over --redis-timeout/);
    // Rate-limited: a line, then at most one a second.
    assert.ok(log.match(/from Redis dropped/g).length <= 4, log);
    for (const client of [a, a2, b]) await client.close();
  });
}

test('a wrong Redis password: a few log lines over several seconds, the backoff grows, never the password', async (t) => {
  const { redis } = await cluster(t, 0, { redisArgs: ['--requirepass', 'right-one'] });
  const wrong = { url: `redis://:wrong-pass%40word@127.0.0.1:${redis.port}` };
  const host = await startClusterHost([wrong]);
  t.after(() => host.stop());
  const connections = () => Number(redis.cli('-a', 'right-one', '--no-auth-warning', 'INFO', 'stats')
    .match(/total_connections_received:(\d+)/)[1]);
  const before = connections();
  const watched = 8000;
  await new Promise((r) => setTimeout(r, watched));
  const attempts = connections() - before;
  const lines = host.log().split('\n').filter((l) => /redis|AUTH|WRONGPASS/i.test(l) && !/cluster: host id/.test(l));
  assert.ok(lines.length <= 4, `${lines.length} lines:\n${lines.join('\n')}`);
  assert.match(lines.join('\n'), /AUTH refused/);
  // Two connections (subscription, commands); 100 ms apart without a growing backoff that is 160 attempts.
  assert.ok(attempts >= 4 && attempts < 40, `${attempts} connection attempts in ${watched} ms`);
  assert.doesNotMatch(host.log(), /wrong-pass/);
  assert.match(await (await fetch(`${host.httpUrl}/healthz`)).text(), /^degraded/);
});

test('the Redis password comes from a file or the environment, never shows in ps or the log; on the command line it is refused', async (t) => {
  const secret = 'pass:with@odd/chars';
  const { redis } = await cluster(t, 0, { redisArgs: ['--requirepass', secret] });
  const dir = mkdtempSync(join(tmpdir(), 'microsockets-secret-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'redis-password'), `${secret}\n`, { mode: 0o600 });
  const plain = { url: `redis://127.0.0.1:${redis.port}` };
  const fromFile = await startClusterHost([plain], { args: ['--redis-password-file', join(dir, 'redis-password')] });
  t.after(() => fromFile.stop());
  const fromEnv = await startHost({
    plugins: { '10-probe.so': testPlugin('probe') },
    args: ['--redis', plain.url],
    extraEnv: { MICROSOCKETS_HOST_REDIS_PASSWORD: secret },
  });
  t.after(() => fromEnv.stop());
  for (const host of [fromFile, fromEnv]) {
    await waitFor(async () => (await (await fetch(`${host.httpUrl}/healthz`)).text()) === 'ok\n', 'the host to reach Redis');
    assert.ok(!readFileSync(`/proc/${host.proc.pid}/cmdline`, 'utf8').includes(secret), 'ps shows no password');
    assert.ok(!host.log().includes(secret), 'the log shows no password');
  }
  const r = spawnSync(env.host, ['--plugins', dir, '--redis', plain.url, '--redis-password', secret], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--redis-password on the command line is visible to every user in ps/);
  assert.ok(!r.stderr.includes(secret));
});

test('a host paused past its lease gets its members back within the lease after SIGCONT', async (t) => {
  const { hosts } = await cluster(t, 2);
  const [a, b] = await Promise.all(hosts.map((h) => Client.open(h.url)));
  await joined(a, 'pause');
  await joined(b, 'pause');
  assert.match(await a.ask('members', 'pause'), /^2\|/);
  hosts[1].proc.kill('SIGSTOP');
  try {
    // Host 2's lease lapses after 5 s; a lookup on host 1 then removes its member.
    await waitFor(async () => (await a.ask('members', 'pause')).startsWith('1|'), 'the paused host to lapse', 9000);
  } finally {
    hosts[1].proc.kill('SIGCONT');
  }
  const resumed = Date.now();
  await waitFor(async () => (await a.ask('members', 'pause')).startsWith('2|'), 'both members back', 5000);
  assert.ok(Date.now() - resumed < 5000);
  await hosts[1].waitForLog(/liveness had lapsed/);
  assert.equal((await metrics(hosts[1])).redis_memberships_rewritten_total >= 1, true);
  assert.match(await b.ask('members', 'pause'), /^2\|/);
  await a.close();
  await b.close();
});

test('Redis stalled for 6 s: both hosts say degraded, then every member is back within the lease', async (t) => {
  const { redis, hosts } = await cluster(t, 2);
  const [a, b] = await Promise.all(hosts.map((h) => Client.open(h.url)));
  await joined(a, 'stall');
  await joined(b, 'stall');
  await Promise.all(hosts.map((h) => subscribed(h, 2)));
  redis.proc.kill('SIGSTOP');
  try {
    for (const h of hosts)
      await waitFor(async () => /^degraded/.test(await (await fetch(`${h.httpUrl}/healthz`)).text()), 'degraded', 4000);
    await new Promise((r) => setTimeout(r, 6000 - 2500));
  } finally {
    redis.proc.kill('SIGCONT');
  }
  const resumed = Date.now();
  for (const h of hosts)
    await waitFor(async () => (await (await fetch(`${h.httpUrl}/healthz`)).text()) === 'ok\n', 'ok again', 8000);
  await waitFor(async () => (await a.ask('members', 'stall')).startsWith('2|'), 'both members back', 5000);
  assert.ok(Date.now() - resumed < 5000);
  await Promise.all(hosts.map((h) => subscribed(h, 2)));
  b.send('say', 'stall|1|after the stall');
  assert.equal(await a.next('said'), 'after the stall');
  await a.close();
  await b.close();
});
