// The story of the original README, told by three clients in the chat example.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { Client, env, startHost } from './harness.mjs';

let host;
before(async () => {
  host = await startHost({ plugins: { '20-chat.so': join(env.chatPlugins, '20-chat.so') } });
});
after(() => host.stop());

const joinPayload = (room, user) => JSON.stringify({ room, user });

test('users join a room, hear each other join, and hear each other\'s messages', async () => {
  const alice = await Client.open(host.url);
  const bob = await Client.open(host.url);
  const carol = await Client.open(host.url);

  alice.send('join', joinPayload('tea', 'alice'));
  assert.equal(await alice.next('joined'), '');

  bob.send('join', joinPayload('tea', 'bob'));
  assert.equal(await bob.next('joined'), '');
  assert.deepEqual(JSON.parse(await alice.next('user joined')), { user: 'bob' });

  carol.send('join', joinPayload('coffee', 'carol'));
  assert.equal(await carol.next('joined'), '');

  bob.send('message', 'hello tea');
  assert.equal(await alice.next('message'), 'hello tea');

  // carol is in another room: the next thing she hears is her own echo of a join.
  carol.send('join', joinPayload('coffee', 'carol'));
  assert.equal(await carol.next('joined'), '');
  // bob does not hear his own message.
  bob.send('join', joinPayload('tea', 'bob'));
  assert.equal(await bob.next('joined'), '');
  for (const c of [alice, bob, carol]) await c.close();
});

test('the original example page\'s join, whose user is a number, works and comes back as that number', async () => {
  const other = await Client.open(host.url);
  other.send('join', joinPayload('gamers', 'watching'));
  assert.equal(await other.next('joined'), '');
  const page = await Client.open(host.url);
  const user = Math.random();
  // Exactly what the original page sends.
  page.ws.send(JSON.stringify({ event: 'join', payload: JSON.stringify({ room: 'gamers', user }) }));
  assert.equal(await page.next('joined'), '');
  assert.deepEqual(JSON.parse(await other.next('user joined')), { user });
  await Promise.all([other.close(), page.close()]);
});

test('any JSON value is a user, and comes back as the same value', async () => {
  const other = await Client.open(host.url);
  other.send('join', joinPayload('values', 'watching'));
  assert.equal(await other.next('joined'), '');
  const c = await Client.open(host.url);
  for (const user of [{ name: 'ann', tags: ['a', 1, null] }, [1, 2], true, null, 'ünïcode ☃', -1.5e300]) {
    c.send('join', joinPayload('values', user));
    assert.equal(await c.next('joined'), '');
    assert.deepEqual(JSON.parse(await other.next('user joined')), { user });
  }
  await Promise.all([other.close(), c.close()]);
});

test('a join it cannot use is answered with an error that says why, and the connection lives on', async () => {
  const dave = await Client.open(host.url);
  const cases = [
    ['not json at all', /not JSON/],
    ['[1,2]', /not a JSON object/],
    [JSON.stringify({ user: 'dave' }), /no "room"/],
    [JSON.stringify({ room: 7, user: 'dave' }), /"room" is not a string/],
    [JSON.stringify({ room: 'tea' }), /no "user"/],
  ];
  for (const [payload, why] of cases) {
    dave.send('join', payload);
    const error = await dave.next('error');
    assert.equal(typeof error, 'string');
    assert.match(error, why, payload);
  }
  dave.send('join', joinPayload('tea', 'dave'));
  assert.equal(await dave.next('joined'), '');
  await dave.close();
});
