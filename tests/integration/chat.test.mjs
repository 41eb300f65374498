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

test('a join without room or user is logged as a handler error and the connection lives on', async () => {
  const dave = await Client.open(host.url);
  dave.send('join', 'not json at all');
  dave.send('join', joinPayload('tea', 'dave'));
  assert.equal(await dave.next('joined'), '');
  await host.waitForLog(/plugin 'chat' \(20-chat.so\): handler for event 'join' failed/);
  await dave.close();
});
