// Cross-host fan-out costs O(rooms), not O(rooms²): a broadcast to many rooms
// goes through Redis once per shard, its rooms listed once, and a member of
// several of them hears it once. The worst a client can ask for is bounded by
// the room limits (--max-room-names-bytes, --max-broadcast-rooms).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, env, metrics, waitFor } from './harness.mjs';
import { rssBytes } from './raw.mjs';
import { startClusterHost, startRedis, subscribed } from './redis_harness.mjs';

const redisInfo = (redis, field) => Number(redis.cli('INFO', 'stats').match(new RegExp(`${field}:(\\d+)`))[1]);
const publishes = (redis) => Number(redis.cli('INFO', 'commandstats').match(/cmdstat_publish:calls=(\d+)/)?.[1] ?? 0);

describe('a client in as many rooms as the limits allow, broadcasting to all of them', () => {
  let redis;
  let hosts;
  before(async () => {
    redis = await startRedis();
    hosts = await Promise.all([1, 2].map(() => startClusterHost([redis])));
    await Promise.all(hosts.map((h) => subscribed(h, 1)));
  });
  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    await redis.stop();
  });

  test('1,000 rooms of 256-byte names: joins past 16 KiB of names are refused; each message moves under 64 KiB through Redis, once', async () => {
    const [a, b] = await Promise.all(hosts.map((h) => Client.open(h.url)));
    const name = (i) => `room-${String(i).padStart(4, '0')}-`.padEnd(256, 'x');
    let joined = 0;
    for (let i = 0; i < 1000; i++) if ((await a.ask('join_status', name(i))) === 'ok') joined += 1;
    assert.equal(joined, 64, '16 KiB of 256-byte names');
    assert.equal((await metrics(hosts[0])).rooms_refused_total, 936);
    assert.match(hosts[0].log(), /join refused: its rooms' names would take 16640 bytes \(limit 16384\)/);

    // b, on the other host, is in two of a's rooms.
    assert.equal(await b.ask('join', name(0), 'joined'), name(0));
    assert.equal(await b.ask('join', name(63), 'joined'), name(63));
    await subscribed(hosts[0], 65);
    await subscribed(hosts[1], 3);

    const rssBefore = rssBytes(hosts[0].proc.pid);
    for (let round = 0; round < 20; round++) {
      const bytesBefore = redisInfo(redis, 'total_net_input_bytes');
      const publishedBefore = publishes(redis);
      a.send('say_to_my_rooms', `1|message ${round}`);
      assert.equal(await b.next('said'), `message ${round}`);  // once, though b is in two of the rooms
      const bytes = redisInfo(redis, 'total_net_input_bytes') - bytesBefore;
      assert.ok(bytes < 64 * 1024, `round ${round}: ${bytes} bytes into Redis`);
      assert.equal(publishes(redis) - publishedBefore, 1, `round ${round}: one PUBLISH for one shard`);
    }
    assert.equal(await b.ask('echo', 'nothing else'), 'nothing else');
    for (const h of hosts) assert.equal((await metrics(h)).redis_connections_lost_total, 0, 'no subscription was cut');
    assert.doesNotMatch(redis.log(), /scheduled to be closed ASAP for overcoming of output buffer limits/);
    if (!env.sanitized) {
      const grown = rssBytes(hosts[0].proc.pid) - rssBefore;
      assert.ok(grown < 4 << 20, `the sending host grew by ${grown} bytes`);
    }
    await Promise.all([a.close(), b.close()]);
  });

  test('a single-room broadcast still goes to that room only: a host without members hears nothing of it', async () => {
    const [a, b] = await Promise.all(hosts.map((h) => Client.open(h.url)));
    assert.equal(await a.ask('join', 'solo', 'joined'), 'solo');
    assert.equal(await b.ask('join', 'elsewhere', 'joined'), 'elsewhere');
    await subscribed(hosts[0], 2);
    await subscribed(hosts[1], 2);
    const receivedBefore = (await metrics(hosts[1])).redis_received_total;
    a.send('say', 'solo|0|to solo');
    assert.equal(await a.next('said'), 'to solo');
    assert.equal(await b.ask('echo', 'after'), 'after');
    assert.equal((await metrics(hosts[1])).redis_received_total, receivedBefore, 'host 2 is not subscribed to solo');
    await Promise.all([a.close(), b.close()]);
  });
});
