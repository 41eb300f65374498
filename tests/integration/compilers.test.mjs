// Plugins from other compilers load into the g++-built host: the C ABI is the
// only contract. A plugin in plain C (examples/c-echo, built by the C compiler)
// and the probe built by clang++.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { Client, env, startHost, stopAfter, testPlugin } from './harness.mjs';

test('a plugin in plain C answers its events, reading the request through a sink', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: { '30-c_echo.so': join(env.build, 'examples/c-echo/c_echo.so') } }));
  assert.match(host.log(), /loaded plugin 'c_echo' \(30-c_echo\.so\): events \[echo, whoami\]/);
  const c = await Client.open(host.url);
  assert.equal(await c.ask('echo', 'from C'), 'from C');
  assert.equal(await c.ask('echo', '{"a":[1,2]}'), '{"a":[1,2]}');
  assert.match(await c.ask('whoami'), /^127\.0\.0\.1:\d+$/);
  await c.close();
});

test('a plugin built by clang++ serves rooms, attributes, exceptions and its own threads in the g++ host', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: { '10-probe.so': testPlugin('clang_probe') } }));
  assert.match(host.log(), /loaded plugin 'probe' \(10-probe\.so\)/);
  const [a, b] = await Promise.all([Client.open(host.url), Client.open(host.url)]);
  assert.equal(await a.ask('echo', 'from clang'), 'from clang');
  assert.equal(await a.ask('join', 'r', 'joined'), 'r');
  assert.equal(await b.ask('join', 'r', 'joined'), 'r');
  a.send('say', 'r|1|hello room');
  assert.equal(await b.next('said'), 'hello room');
  assert.equal(await a.ask('set', 'user=ann'), 'user');
  assert.equal(await a.ask('get', 'user'), 'ann');
  // The client hears that the handler failed, never the exception's text.
  assert.equal(await a.ask('throw', '', 'error'), "the handler for 'throw' failed");
  await host.waitForLog(/handler for event 'throw' failed: probe was asked to throw/);
  assert.equal(await a.ask('later', 'from a thread'), 'from a thread');
  await Promise.all([a.close(), b.close()]);
});
