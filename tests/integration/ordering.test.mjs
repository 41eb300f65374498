// One caller's calls reach a connection in the order they were made, whichever
// host thread owns it and whether the caller is a handler on another host
// thread or a thread of the plugin's own (see the probe's sequence()).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, startHost, testPlugin } from './harness.mjs';

const ROUNDS = 50;
const workerOf = (id) => Number(BigInt(id) & 0xffn);

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

async function member(host, other, room) {
  const c = await elsewhere(host, other);
  assert.equal(await c.ask('join', room, 'joined'), room);
  return c;
}

for (const threads of [2, 4]) {
  describe(`with --threads ${threads}`, () => {
    let host;
    before(async () => {
      host = await startHost({ plugins: { '10-probe.so': testPlugin('probe') }, args: ['--threads', String(threads)] });
    });
    after(() => host.stop());

    for (const [caller, command] of [['a handler on another thread', 'sequence'], ["the plugin's own thread", 'sequence_thread']]) {
      test(`from ${caller}: a broadcast then a close reach the member in that order`, async () => {
        const a = await open(host);
        for (let i = 0; i < ROUNDS; i++) {
          const room = `kick-${command}-${i}`;
          const b = await member(host, a, room);
          a.send(command, `kick|${room}|${b.id}|${i}`);
          const closed = await b.waitClosed();
          assert.equal(closed.code, 4000, `round ${i}`);
          assert.deepEqual(b.inbox, [{ event: 'bye', payload: String(i) }], `round ${i}: "bye" before the close`);
        }
        await a.close();
      });

      test(`from ${caller}: a broadcast then an emit reach the member in that order`, async () => {
        const a = await open(host);
        const room = `emit-${command}`;
        const b = await member(host, a, room);
        for (let i = 0; i < ROUNDS; i++) {
          a.send(command, `emit|${room}|${b.id}|${i}`);
          assert.equal(await b.next('first'), String(i), `round ${i}`);
          assert.equal(await b.next('second'), String(i), `round ${i}`);
        }
        await Promise.all([a.close(), b.close()]);
      });

      test(`from ${caller}: a member that leaves between two broadcasts hears only the first`, async () => {
        const a = await open(host);
        for (let i = 0; i < ROUNDS; i++) {
          const room = `leave-${command}-${i}`;
          const b = await member(host, a, room);
          a.send(command, `leave|${room}|${b.id}|${i}`);
          assert.equal(await b.next('one'), String(i), `round ${i}`);
          assert.equal(await b.next('done'), String(i), `round ${i}: "two" must not arrive`);
          await b.close();
        }
        await a.close();
      });

      test(`from ${caller}: a join then a broadcast to that room reaches the new member`, async () => {
        const a = await open(host);
        const b = await elsewhere(host, a);
        for (let i = 0; i < ROUNDS; i++) {
          a.send(command, `join|r${i}|${b.id}|${i}`);
          assert.equal(await b.next('welcome'), String(i), `round ${i}`);
        }
        await Promise.all([a.close(), b.close()]);
      });

      test(`from ${caller}: an attribute set before an emit is there when the emit arrives`, async () => {
        const a = await open(host);
        const b = await elsewhere(host, a);
        for (let i = 0; i < ROUNDS; i++) {
          a.send(command, `set|none|${b.id}|${i}`);
          assert.equal(await b.next('marked'), String(i), `round ${i}`);
          assert.equal(await b.ask('get', 'mark'), String(i), `round ${i}`);
        }
        await Promise.all([a.close(), b.close()]);
      });
    }
  });
}
