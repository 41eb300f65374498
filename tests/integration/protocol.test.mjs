// The wire protocol: malformed messages are counted and skipped; binary,
// oversized and invalid UTF-8 messages get their RFC 6455 close codes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, metrics, startHost, testPlugin } from './harness.mjs';

let host;
before(async () => {
  host = await startHost({ plugins: { '10-probe.so': testPlugin('probe') }, args: ['--max-message', '1024'] });
});
after(() => host.stop());

test('malformed messages are not dispatched, are counted, and the connection keeps working', async () => {
  const c = await Client.open(host.url);
  const before = (await metrics(host)).messages_malformed_total;
  const bad = ['not json', '[1,2]', '"just a string"', '{"payload":"no event"}', '{"event":7}', '{"event":"echo"'];
  for (const text of bad) c.sendRaw(text);
  assert.equal(await c.ask('echo', 'still fine'), 'still fine');
  assert.equal((await metrics(host)).messages_malformed_total, before + bad.length);
  // the on_error hook saw each of them too
  assert.equal(Number(await c.ask('malformed_seen')) >= bad.length, true);
  // Logged once, then at most once a second with a count: a flood of bad messages is not a flood of log.
  await host.waitForLog(/not dispatched: /);
  assert.equal(host.log().match(/not dispatched: /g).length, 1);
  await c.close();
});

test('a payload that is not a string reaches the handler as JSON text', async () => {
  const c = await Client.open(host.url);
  c.sendRaw(JSON.stringify({ event: 'echo', payload: { a: [1, true, null] } }));
  assert.equal(await c.next('echo'), '{"a":[1,true,null]}');
  c.sendRaw(JSON.stringify({ event: 'echo' }));
  assert.equal(await c.next('echo'), '');
  await c.close();
});

test('a binary message closes the connection with 1003', async () => {
  const c = await Client.open(host.url);
  c.sendRaw(Buffer.from([1, 2, 3]), { binary: true });
  assert.equal((await c.waitClosed()).code, 1003);
});

test('a message over --max-message closes the connection with 1009', async () => {
  const c = await Client.open(host.url);
  c.send('echo', 'x'.repeat(2000));
  assert.equal((await c.waitClosed()).code, 1009);
});

test('a text message that is not UTF-8 closes the connection with 1007', async () => {
  const c = await Client.open(host.url);
  c.sendRaw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
  assert.equal((await c.waitClosed()).code, 1007);
});

test('other clients are untouched by one client\'s bad frames', async () => {
  const good = await Client.open(host.url);
  const bad = await Client.open(host.url);
  bad.sendRaw(Buffer.from([9]), { binary: true });
  await bad.waitClosed();
  assert.equal(await good.ask('echo', 'unaffected'), 'unaffected');
  await good.close();
});
