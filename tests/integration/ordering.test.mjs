// One caller's calls reach a connection in the order they were made, whichever
// host thread owns it and whether the caller is a handler on another host
// thread or a thread of the plugin's own (see the probe's sequence()).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, startHost, testPlugin, waitFor } from './harness.mjs';

const ROUNDS = 50;
const rounds = () => Array.from({ length: ROUNDS }, (_, i) => i);
const workerOf = (id) => Number(BigInt(id) & 0xffn);
const event = (name, payload) => ({ event: name, payload: String(payload) });

// The next `count` messages `c` receives, in order.
async function received(c, count) {
  await waitFor(() => c.inbox.length >= count, `${count} messages (got ${c.inbox.length})`);
  return c.inbox.splice(0, count);
}

async function open(host) {
  const c = await Client.open(host.url);
  c.id = await c.ask('whoami');
  return c;
}

// A client owned by another host thread than `other`'s (the host hands new
// connections to its threads in turn).
async function elsewhere(host, other) {
  for (let tries = 0; tries < 8; tries++) {
    const c = await open(host);
    if (workerOf(c.id) !== workerOf(other.id)) return c;
    await c.close();
  }
  throw new Error(`every connection landed on the thread of ${other.id}`);
}

// `count` clients on other host threads than `other`'s, opened at once.
async function manyElsewhere(host, other, count) {
  const opened = await Promise.all(Array.from({ length: 2 * count }, () => open(host)));
  const chosen = opened.filter((c) => workerOf(c.id) !== workerOf(other.id)).slice(0, count);
  await Promise.all(opened.filter((c) => !chosen.includes(c)).map((c) => c.close()));
  assert.equal(chosen.length, count, 'connections are handed to the host threads in turn');
  return chosen;
}

for (const threads of [2, 4]) {
  describe(`with --threads ${threads}`, () => {
    let host;
    before(async () => {
      host = await startHost({ plugins: { '10-probe.so': testPlugin('probe') }, args: ['--threads', String(threads)] });
    });
    after(() => host.stop());

    for (const [caller, command] of [['a handler on another thread', 'sequence'], ["the plugin's own thread", 'sequence_thread']]) {
      // Each test sends its ROUNDS commands at once: every round's calls, and
      // the rounds themselves, come from one caller in order.
      test(`from ${caller}: a broadcast then a close reach the member in that order`, async () => {
        const a = await open(host);
        const members = await manyElsewhere(host, a, ROUNDS);
        const room = (i) => `kick-${command}-${i}`;
        await Promise.all(members.map(async (b, i) => assert.equal(await b.ask('join', room(i), 'joined'), room(i))));
        members.forEach((b, i) => a.send(command, `kick|${room(i)}|${b.id}|${i}`));
        for (const [i, b] of members.entries()) {
          assert.equal((await b.waitClosed()).code, 4000, `round ${i}`);
          assert.deepEqual(b.inbox, [{ event: 'bye', payload: String(i) }], `round ${i}: "bye" before the close`);
        }
        await a.close();
      });

      test(`from ${caller}: a broadcast then an emit reach the member in that order`, async () => {
        const a = await open(host);
        const b = await elsewhere(host, a);
        const room = `emit-${command}`;
        assert.equal(await b.ask('join', room, 'joined'), room);
        rounds().forEach((i) => a.send(command, `emit|${room}|${b.id}|${i}`));
        assert.deepEqual(await received(b, 2 * ROUNDS), rounds().flatMap((i) => [event('first', i), event('second', i)]));
        await Promise.all([a.close(), b.close()]);
      });

      test(`from ${caller}: a member that leaves between two broadcasts hears only the first`, async () => {
        const a = await open(host);
        const b = await elsewhere(host, a);
        const room = (i) => `leave-${command}-${i}`;
        rounds().forEach((i) => b.send('join', room(i)));
        assert.deepEqual(await received(b, ROUNDS), rounds().map((i) => event('joined', room(i))));
        rounds().forEach((i) => a.send(command, `leave|${room(i)}|${b.id}|${i}`));
        // "two" goes out after the leave: it must never arrive.
        assert.deepEqual(await received(b, 2 * ROUNDS), rounds().flatMap((i) => [event('one', i), event('done', i)]));
        assert.equal(await b.ask('rooms'), '');
        await Promise.all([a.close(), b.close()]);
      });

      test(`from ${caller}: a join then a broadcast to that room reaches the new member`, async () => {
        const a = await open(host);
        const b = await elsewhere(host, a);
        rounds().forEach((i) => a.send(command, `join|${command}-${i}|${b.id}|${i}`));
        assert.deepEqual(await received(b, ROUNDS), rounds().map((i) => event('welcome', i)));
        await Promise.all([a.close(), b.close()]);
      });

      test(`from ${caller}: an attribute set before an emit is there when the emit arrives`, async () => {
        const a = await open(host);
        const b = await elsewhere(host, a);
        for (let i = 0; i < 10; i++) {  // a round trip each: fewer rounds
          a.send(command, `set|none|${b.id}|${i}`);
          assert.equal(await b.next('marked'), String(i), `round ${i}`);
          assert.equal(await b.ask('get', 'mark'), String(i), `round ${i}`);
        }
        await Promise.all([a.close(), b.close()]);
      });
    }
  });
}
