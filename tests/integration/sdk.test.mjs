// The SDK's capabilities end to end, through the probe and tag plugins.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, startHost, testPlugin, waitFor } from './harness.mjs';

let host;
before(async () => {
  host = await startHost({
    plugins: {
      '01-tag_first.so': testPlugin('tag_first'),
      '02-tag_second.so': testPlugin('tag_second'),
      '10-probe.so': testPlugin('probe'),
    },
    args: ['--set', 'probe.greeting=hello from --set'],
    extraEnv: { MICROSOCKETS_PROBE_FROM_ENV: 'hello from the environment' },
  });
});
after(() => host.stop());

test('middleware of two plugins runs in file-name order and shapes the payload', async () => {
  const c = await Client.open(host.url);
  assert.equal(await c.ask('echo', 'x'), 'x+first+second');
  await c.close();
});

test('a middleware that does not call next stops the event', async () => {
  const c = await Client.open(host.url);
  assert.equal(await c.ask('echo', 'stop-second', 'stopped'), 'second');
  assert.equal(await c.ask('echo', 'after'), 'after+first+second');
  await c.close();
});

test('an event without a handler reaches the fallback', async () => {
  const c = await Client.open(host.url);
  assert.equal(await c.ask('no such event', '', 'unknown'), 'no such event');
  await c.close();
});

test('a handler that throws is logged with plugin and event, the client is told, and the connection lives on', async () => {
  const c = await Client.open(host.url);
  c.send('throw');
  // Named, but without the exception's text, which may hold secrets.
  assert.equal(await c.next('error'), "the handler for 'throw' failed");
  assert.equal(await c.ask('echo', 'alive'), 'alive+first+second');
  await host.waitForLog(/plugin 'probe' \(10-probe.so\): handler for event 'throw' failed: probe was asked to throw/);
  await c.close();
});

test('attributes are kept per connection', async () => {
  const a = await Client.open(host.url);
  const b = await Client.open(host.url);
  assert.equal(await a.ask('set', 'user=ann'), 'user');
  assert.equal(await a.ask('get', 'user'), 'ann');
  assert.equal(await b.ask('get', 'user'), '<none>');
  assert.equal(await a.ask('get', 'greeting'), 'set during on_connect');
  await Promise.all([a.close(), b.close()]);
});

test('the upgrade request is readable: path, query, header, remote', async () => {
  const c = await Client.open(`${host.url}/chat/room?q=a%20b`, { headers: { 'X-Probe-Header': 'hdr' } });
  const [path, q, header, remote] = (await c.ask('request')).split('|');
  assert.equal(path, '/chat/room');
  assert.equal(q, 'a b');
  assert.equal(header, 'hdr');
  assert.match(remote, /^127\.0\.0\.1:\d+$/);
  await c.close();
});

test('emit_json sends a JSON value and refuses text that is not JSON', async () => {
  const c = await Client.open(host.url);
  c.send('echo_json', '{"n":[1,2]}');
  assert.deepEqual(await c.next('raw'), { n: [1, 2] });
  assert.equal(await c.next('echo_json'), 'ok');
  assert.equal(await c.ask('echo_json', '{broken'), 'invalid');
  await c.close();
});

test('plugin settings come from --set and from the environment', async () => {
  const c = await Client.open(host.url);
  assert.equal(await c.ask('setting', 'greeting'), 'hello from --set');
  assert.equal(await c.ask('setting', 'from_env'), 'hello from the environment');
  assert.equal(await c.ask('setting', 'missing'), '<none>');
  await c.close();
});

test('on_connect can reject the upgrade with an HTTP status', async () => {
  await assert.rejects(Client.open(`${host.url}/?reject=403`), (e) => e.status === 403 && /rejected by probe/.test(e.body));
});

test('on_connect adds response headers and picks an offered subprotocol', async () => {
  const c = await Client.open(host.url, { protocols: ['other', 'probe.v1'] });
  assert.equal(c.ws.protocol, 'probe.v1');
  await c.close();
  const plain = await Client.open(host.url);
  assert.equal(plain.ws.protocol, '');
  await plain.close();
});

test('ws.close closes with the code given, and on_disconnect sees it', async () => {
  const c = await Client.open(host.url);
  c.send('close', '4001');
  const closed = await c.waitClosed();
  assert.equal(closed.code, 4001);
  assert.equal(closed.reason, 'probe closes');
  const d = await Client.open(host.url);
  assert.equal(await waitFor(async () => (await d.ask('last_close_code')) === '4001' && '4001', 'on_disconnect'), '4001');
  await d.close(4321);
  const e = await Client.open(host.url);
  await waitFor(async () => (await e.ask('last_close_code')) === '4321', 'on_disconnect to see 4321');
  await e.close();
});

test('a handle used from another thread delivers its reply', async () => {
  const c = await Client.open(host.url);
  c.send('later', 'from a thread');
  assert.equal(await c.next('later'), 'from a thread');
  await c.close();
});

test('a handle to a closed connection is a harmless no-op that reports it', async () => {
  const gone = await Client.open(host.url);
  assert.equal(await gone.ask('remember', '', 'remembered'), '');
  await gone.close();
  const c = await Client.open(host.url);
  await waitFor(async () => (await c.ask('last_close_code')) === '1005', 'the host to see the disconnect');
  // emit, join, broadcast (which needs no live sender), close, rooms and set
  assert.equal(await c.ask('poke'), 'gone,gone,ok,gone,gone,gone');
  assert.equal(await c.ask('echo', 'fine'), 'fine+first+second');
  await c.close();
});

test('calls run in place report their outcome: join twice is ok, leaving a room one is not in is not_found', async () => {
  const c = await Client.open(host.url);
  assert.equal(
    await c.ask('statuses', 'status-room'),
    'join:ok,join_again:ok,rooms:ok,leave:ok,leave_again:not_found,set_payload:ok,close_999:invalid',
  );
  assert.equal(await c.ask('rooms'), '');
  await c.close();
});

test('emit and close on a connection that is closing return gone', async () => {
  const c = await Client.open(host.url);
  c.send('close_then_emit');
  assert.equal((await c.waitClosed()).code, 4002);
  assert.deepEqual(c.inbox, [], 'nothing follows the close');
  const d = await Client.open(host.url);
  assert.equal(await d.ask('last_report'), 'close:ok,emit:gone,close_again:gone');
  await d.close();
});

test("a call from a plugin's own thread is queued and returns ok, meaning accepted", async () => {
  const c = await Client.open(host.url);
  c.send('thread_statuses');
  assert.equal(await c.next('from_thread'), '');
  // The leave found no such room when it ran, but that is not reported back.
  assert.equal(await c.next('thread_statuses'), 'emit:ok,leave:ok');
  await c.close();
});

test('on_connect gets a status for every call: a bad reject, header or protocol is invalid', async () => {
  const c = await Client.open(`${host.url}/?misuse=1`);
  assert.equal(
    await c.ask('get', 'handshake_statuses'),
    'reject_200:invalid,header_name:invalid,header_value:invalid,protocol:invalid,set:ok',
  );
  assert.equal(c.ws.readyState, c.ws.OPEN, 'a refused reject leaves the upgrade accepted');
  await c.close();
});
