// app.keep_headers (ABI 1.2): once every plugin loaded has said which request
// headers it reads after the upgrade, a connection keeps only those; while one
// has not, every header stays. on_connect sees them all either way.
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client, startHost, stopAfter, testPlugin } from './harness.mjs';

const headers = { 'X-Kept': 'kept value', 'X-Dropped': 'dropped value' };
const kept = { '10-kept_headers.so': testPlugin('kept_headers') };
const read = async (c, name) => c.ask('header', name);

test('when every plugin has said which headers it reads, the others are dropped after on_connect', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: kept }));
  const c = await Client.open(host.url, { headers });
  assert.equal(await read(c, 'x-kept'), 'kept value');
  assert.equal(await read(c, 'X-KEPT'), 'kept value');
  assert.equal(await read(c, 'X-Dropped'), '<none>');
  assert.equal(await read(c, 'Host'), '<none>');
  assert.equal(await c.ask('seen_at_connect'), 'dropped value');
  await c.close();
});

test('a plugin that has not said keeps every header for every connection', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: { ...kept, '20-probe.so': testPlugin('probe') } }));
  const c = await Client.open(host.url, { headers });
  assert.equal(await read(c, 'x-kept'), 'kept value');
  assert.equal(await read(c, 'X-Dropped'), 'dropped value');
  assert.match(await read(c, 'host'), /^127\.0\.0\.1:\d+$/);
  await c.close();
});

test('a reload that changes what is kept applies to the connections that open after it', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: kept }));
  const before = await Client.open(host.url, { headers });
  copyFileSync(testPlugin('probe'), join(host.dir, '20-probe.so'));
  host.proc.kill('SIGHUP');
  await host.waitForLog(/loaded plugin 'probe' \(20-probe\.so\)/);
  const after = await Client.open(host.url, { headers });
  assert.equal(await read(after, 'X-Dropped'), 'dropped value');
  assert.equal(await read(before, 'X-Dropped'), '<none>');
  assert.equal(await read(before, 'x-kept'), 'kept value');
  await Promise.all([before.close(), after.close()]);
});
