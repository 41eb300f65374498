// Several hosts sharing rooms through real redis-server processes: what a
// user of a Socket.IO Redis adapter expects, across three hosts.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, metrics, waitFor } from './harness.mjs';
import { startClusterHost, startRedis, subscribed } from './redis_harness.mjs';

async function joined(client, room) {
  assert.equal(await client.ask('join', room, 'joined'), room);
}

// The next broadcast `client` hears; `end` (a later broadcast from the same
// sender) proves nothing else came between.
async function hearsOnly(client, text) {
  assert.equal(await client.next('said'), text);
}

describe('three hosts on one Redis', () => {
  let redis;
  let hosts;
  before(async () => {
    redis = await startRedis();
    hosts = await Promise.all([1, 2, 3].map(() => startClusterHost([redis])));
    await Promise.all(hosts.map((h) => subscribed(h, 1)));  // each host's own channel
  });
  // Each test starts with no room subscribed anywhere: a count of subscriptions then means its own rooms.
  afterEach(() => Promise.all(hosts.map((h) => subscribed(h, 1))));
  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    await redis.stop();
  });

  test('the chat story: a message to a room reaches its members on every host, not the sender', async () => {
    const [a, b, c] = await Promise.all(hosts.map((h) => Client.open(h.url)));
    for (const client of [a, b, c]) await joined(client, 'lobby');
    await Promise.all(hosts.map((h) => subscribed(h, 2)));
    a.send('say', 'lobby|1|hello from host 1');
    assert.equal(await b.next('said'), 'hello from host 1');
    assert.equal(await c.next('said'), 'hello from host 1');
    c.send('say', 'lobby|1|and hello from host 3');
    assert.equal(await a.next('said'), 'and hello from host 3');
    assert.equal(await b.next('said'), 'and hello from host 3');
    assert.equal(await a.ask('echo', 'nothing else'), 'nothing else');  // a never heard itself
    for (const client of [a, b, c]) await client.close();
  });

  test('skip_self false: the sender hears its own message once', async () => {
    const [a, b] = await Promise.all(hosts.slice(0, 2).map((h) => Client.open(h.url)));
    await joined(a, 'echoes');
    await joined(b, 'echoes');
    await Promise.all(hosts.slice(0, 2).map((h) => subscribed(h, 2)));
    a.send('say', 'echoes|0|me too');
    assert.equal(await a.next('said'), 'me too');
    assert.equal(await b.next('said'), 'me too');
    a.send('say', 'echoes|0|end');
    assert.equal(await a.next('said'), 'end');
    assert.equal(await b.next('said'), 'end');
    await a.close();
    await b.close();
  });

  test('a member of two rooms hears a broadcast to both once', async () => {
    const [a, b] = await Promise.all(hosts.slice(0, 2).map((h) => Client.open(h.url)));
    await joined(b, 'red');
    await joined(b, 'blue');
    await subscribed(hosts[1], 3);
    a.send('say', 'red,blue|1|to both');
    await hearsOnly(b, 'to both');
    a.send('say', 'red|1|end');  // after the second copy of "to both", if there were one
    await hearsOnly(b, 'end');
    await a.close();
    await b.close();
  });

  test('after leave or disconnect, a member hears nothing and counts no more', async () => {
    const [a, b, c] = await Promise.all(hosts.map((h) => Client.open(h.url)));
    for (const client of [a, b, c]) await joined(client, 'hall');
    await Promise.all(hosts.map((h) => subscribed(h, 2)));
    assert.match(await a.ask('members', 'hall'), /^3\|/);
    assert.equal(await b.ask('leave', 'hall', 'left'), 'hall');
    await c.close();
    await waitFor(async () => (await a.ask('members', 'hall')).startsWith('1|'), 'hall to have one member');
    await subscribed(hosts[1], 1);  // host 2 unsubscribed from hall
    await a.close();
    await b.close();
  });

  test('membership counts and ids span the hosts', async () => {
    const clients = await Promise.all([0, 1, 1, 2].map((i) => Client.open(hosts[i].url)));
    const ids = [];
    for (const client of clients) {
      await joined(client, 'census');
      ids.push(BigInt(await client.ask('whoami')));
    }
    ids.sort((x, y) => (x < y ? -1 : 1));
    const expected = `4|${ids.join(',')}`;
    // Any host answers the same: ask one on each.
    for (const i of [0, 1, 3]) assert.equal(await clients[i].ask('members', 'census'), expected);
    assert.equal(await clients[0].ask('members', 'nobody-here'), '0|');
    for (const client of clients) await client.close();
  });

  test('a handle of a connection on another host can emit, join, leave and close it; reads answer not found', async () => {
    const [a, b] = await Promise.all(hosts.slice(0, 2).map((h) => Client.open(h.url)));
    const id = await b.ask('whoami');
    assert.equal(await a.ask('handle', `${id}|emit|over here`), 'ok');
    assert.equal(await b.next('handled'), 'over here');
    assert.equal(await a.ask('handle', `${id}|join|pulled`), 'ok');
    await waitFor(async () => (await a.ask('members', 'pulled')) === `1|${id}`, 'b to be in pulled');
    assert.equal(await a.ask('handle', `${id}|get|greeting`), 'not_found');
    assert.equal(await a.ask('handle', `${id}|rooms|`), 'not_found');
    assert.equal(await a.ask('handle', `${id}|leave|pulled`), 'ok');
    await waitFor(async () => (await a.ask('members', 'pulled')) === '0|', 'b to leave pulled');
    assert.equal(await a.ask('handle', `${id}|close|4001`), 'ok');
    assert.equal((await b.waitClosed()).code, 4001);
    await a.close();
  });
});

// `hostCount` hosts on `redisCount` new Redis instances, all stopped when `t` ends.
async function cluster(t, hostCount, redisCount = 1) {
  const redises = await Promise.all(Array.from({ length: redisCount }, () => startRedis()));
  const hosts = await Promise.all(Array.from({ length: hostCount }, () => startClusterHost(redises)));
  t.after(async () => {
    // Every host and Redis is stopped even when one stop fails, then the failure is reported.
    const stops = await Promise.allSettled(hosts.map((h) => h.stop({ killed: h.killedOnPurpose })));
    await Promise.all(redises.map((r) => r.stop()));
    const failed = stops.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  });
  return { redis: redises[0], redises, hosts };
}

test('Redis killed and restarted: local rooms keep working, cross-host delivery resumes', async (t) => {
  const { redis, hosts } = await cluster(t, 2);
  const [a, a2, b] = await Promise.all([0, 0, 1].map((i) => Client.open(hosts[i].url)));
  for (const client of [a, a2, b]) await joined(client, 'room');
  await Promise.all(hosts.map((h) => subscribed(h, 2)));

  await redis.stop('SIGKILL');
  await hosts[0].waitForLog(/redis 127\.0\.0\.1:\d+ lost/);
  assert.match(await (await fetch(`http://127.0.0.1:${hosts[0].port}/healthz`)).text(), /^degraded/);
  assert.equal((await metrics(hosts[0])).redis_instances_up, 0);
  a.send('say', 'room|1|while redis is away');
  assert.equal(await a2.next('said'), 'while redis is away');  // same host: delivered

  const back = await startRedis({ port: redis.port });
  t.after(() => back.stop());
  await Promise.all(hosts.map((h) => subscribed(h, 2)));
  // Each host is back once both its connections are: subscriptions alone do not say so.
  for (const h of hosts) {
    await h.waitForLog(/redis 127\.0\.0\.1:\d+ back after/);
    assert.equal(await (await fetch(`http://127.0.0.1:${h.port}/healthz`)).text(), 'ok\n');
  }
  a.send('say', 'room|1|redis is back');
  assert.equal(await a2.next('said'), 'redis is back');
  // The message sent while Redis was away is lost for host 2 (at most once).
  assert.equal(await b.next('said'), 'redis is back');
  // Memberships were written again into the empty Redis.
  assert.match(await b.ask('members', 'room'), /^3\|/);
});

test('a host killed with SIGKILL: its members vanish from the counts within 6 s', async (t) => {
  const { hosts } = await cluster(t, 2);
  const [a, b1, b2] = await Promise.all([0, 1, 1].map((i) => Client.open(hosts[i].url)));
  for (const client of [a, b1, b2]) await joined(client, 'fragile');
  assert.match(await a.ask('members', 'fragile'), /^3\|/);
  hosts[1].killedOnPurpose = true;
  hosts[1].proc.kill('SIGKILL');
  const killedAt = Date.now();
  await waitFor(async () => (await a.ask('members', 'fragile')).startsWith('1|'), 'the dead host members to vanish', 6500);
  assert.ok(Date.now() - killedAt < 6500);
});

test('two Redis instances share the rooms: rooms spread over both, broadcasts reach every host', async (t) => {
  const { redises, hosts } = await cluster(t, 3, 2);
  const rooms = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
  const [a, b, c] = await Promise.all(hosts.map((h) => Client.open(h.url)));
  for (const room of rooms) {
    await joined(b, room);
    await joined(c, room);
  }
  await Promise.all(hosts.slice(1).map((h) => subscribed(h, 1 + rooms.length)));
  const channels = redises.map((r) => r.cli('PUBSUB', 'NUMSUB', ...rooms.map((x) => `ms:room:${x}`)));
  const on = (text) => text.split('\n').filter((_, i) => i % 2 === 1).map(Number);
  const [first, second] = channels.map(on);
  assert.ok(first.some((n) => n === 2) && second.some((n) => n === 2), `rooms spread over both: ${channels}`);
  for (const room of rooms) {
    a.send('say', `${room}|1|to ${room}`);
    assert.equal(await b.next('said'), `to ${room}`);
    assert.equal(await c.next('said'), `to ${room}`);
  }
  a.send('say', `${rooms.join(',')}|1|to all six`);
  assert.equal(await b.next('said'), 'to all six');
  a.send('say', 'r1|1|end');
  assert.equal(await b.next('said'), 'end');
  assert.match(await a.ask('members', 'r4'), /^2\|/);
});

test('a bad --redis address is refused with one line', async () => {
  const { spawnSync } = await import('node:child_process');
  const { env } = await import('./harness.mjs');
  for (const [url, why] of [
    ['rediss://127.0.0.1:6379', /rediss:\/\/ \(TLS\) is not supported.*TLS tunnel/],
    ['redis://127.0.0.1:99999', /bad port/],
    ['redis://127.0.0.1:6379/x', /database number/],
    // A raw '@' or '/' in the password: the line says to percent-encode, and never shows the password.
    ['redis://:se@cret@127.0.0.1:6379', /must be percent-encoded/],
    ['redis://:se/cret@127.0.0.1:6379', /must be percent-encoded/],
  ]) {
    const run = spawnSync(env.host, ['--redis', url], { encoding: 'utf8' });
    assert.equal(run.status, 2);
    assert.match(run.stderr, why);
    assert.doesNotMatch(run.stderr, /cret/);
    assert.equal(run.stderr.trim().split('\n').length, 1);
  }
});
