// Rooms through the probe plugin: broadcast reach, skip_self, leave, disconnect.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, metrics, startHost, testPlugin, waitFor } from './harness.mjs';

let host;
before(async () => {
  host = await startHost({ plugins: { '10-probe.so': testPlugin('probe') } });
});
after(() => host.stop());

async function member(...rooms) {
  const c = await Client.open(host.url);
  for (const r of rooms) assert.equal(await c.ask('join', r, 'joined'), r);
  return c;
}

// With one host thread, anything delivered to `c` before this reply arrives first.
async function heardNothing(c) {
  assert.equal(await c.ask('echo', 'still here'), 'still here');
}

test('a broadcast skips the sender by default', async () => {
  const a = await member('r1');
  const b = await member('r1');
  a.send('say', 'r1|1|hi');
  assert.equal(await b.next('said'), 'hi');
  await heardNothing(a);
  await Promise.all([a.close(), b.close()]);
});

test('with skip_self false the sender hears its own broadcast', async () => {
  const a = await member('r2');
  const b = await member('r2');
  a.send('say', 'r2|0|all of us');
  assert.equal(await a.next('said'), 'all of us');
  assert.equal(await b.next('said'), 'all of us');
  await Promise.all([a.close(), b.close()]);
});

test('a member of another room hears nothing', async () => {
  const a = await member('r3');
  const b = await member('r3');
  const other = await member('elsewhere');
  a.send('say', 'r3|1|for r3 only');
  assert.equal(await b.next('said'), 'for r3 only');
  await heardNothing(other);
  await Promise.all([a.close(), b.close(), other.close()]);
});

test('a member of several listed rooms hears a broadcast once', async () => {
  const a = await member('x1');
  const both = await member('x1', 'x2');
  a.send('say', 'x1,x2|1|once');
  assert.equal(await both.next('said'), 'once');
  await heardNothing(both);
  await Promise.all([a.close(), both.close()]);
});

test('after leaving a room a client hears nothing from it, and rooms() says so', async () => {
  const a = await member('r4');
  const b = await member('r4', 'r5');
  assert.equal(await b.ask('rooms'), 'r4,r5');
  assert.equal(await b.ask('leave', 'r4', 'left'), 'r4');
  assert.equal(await b.ask('rooms'), 'r5');
  a.send('say', 'r4|1|gone?');
  await heardNothing(b);
  await Promise.all([a.close(), b.close()]);
});

test('a disconnected member is removed from its rooms, and empty rooms vanish', async () => {
  const before = (await metrics(host)).rooms;
  const a = await member('r6');
  const b = await member('r6', 'r7');
  assert.equal((await metrics(host)).rooms, before + 2);
  await b.close();
  // r7 had only b: it is gone; r6 still has a, and a broadcast there reaches only a.
  await waitFor(async () => (await metrics(host)).rooms === before + 1, 'r7 to vanish');
  a.send('say', 'r6|0|alone');
  assert.equal(await a.next('said'), 'alone');
  await a.close();
  await waitFor(async () => (await metrics(host)).rooms === before, 'r6 to vanish');
});
