// Hot reload: swap plugin files under a running host, as a compiler would,
// and check that nobody is dropped and every event is answered exactly once.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client, env, startHost, testPlugin, waitFor, stopAfter } from './harness.mjs';

const v1 = testPlugin('versioned_v1');
const v2 = testPlugin('versioned_v2');

// Replaces `name` the way `cmake --build` does: write beside it, rename over.
function renameOver(dir, name, source) {
  const temporary = join(dir, `.${name}.partial`);
  copyFileSync(source, temporary);
  renameSync(temporary, join(dir, name));
}
// Rewrites `name` in place, keeping its inode, the way some linkers do.
const writeInPlace = (dir, name, source) => copyFileSync(source, join(dir, name));

const count = (text, pattern) => (text.match(new RegExp(pattern, 'g')) ?? []).length;

// The private copies of plugin file `file` that the host process has mapped,
// by inode: an anonymous copy shows as "/memfd:20-versioned.so (deleted)",
// one in a private folder as ".../20-versioned.so (deleted)".
function mappedCopies(host, file) {
  const maps = readFileSync(`/proc/${host.proc.pid}/maps`, 'utf8').split('\n').map((line) => line.split(/\s+/));
  const copies = maps.filter(([, , , , , name = '']) => name === `/memfd:${file}` || name.endsWith(`/${file}`));
  return new Set(copies.map(([, , , , inode]) => inode));
}

const rss = (host) => Number(readFileSync(`/proc/${host.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);

async function hostWith(files, args = ['--watch']) {
  return startHost({ plugins: files, args });
}
const standard = () => ({ '10-probe.so': testPlugin('probe'), '20-versioned.so': v1 });

async function waitForVersion(client, version) {
  await waitFor(async () => (await client.ask('version')) === version, `version ${version}`);
}

test('connections, rooms and attributes survive a reload, and the new version answers', async (t) => {
  const host = stopAfter(t, await hostWith(standard()));
  const ann = await Client.open(host.url);
  const bob = await Client.open(host.url);
  for (const c of [ann, bob]) assert.equal(await c.ask('join', 'r', 'joined'), 'r');
  assert.equal(await ann.ask('set', 'user=ann'), 'user');
  assert.equal(await ann.ask('version'), 'v1');

  renameOver(host.dir, '20-versioned.so', v2);
  await host.waitForLog(/reloaded plugin 'versioned' \(20-versioned\.so\)/);
  assert.equal(await ann.ask('version'), 'v2');
  assert.equal(await bob.ask('version'), 'v2');

  assert.equal(await ann.ask('get', 'user'), 'ann');
  assert.equal(await bob.ask('rooms'), 'r');
  ann.send('say', 'r|1|still together');
  assert.equal(await bob.next('said'), 'still together');
  assert.equal(ann.closed, null);
  assert.equal(bob.closed, null);
  // The old version's on_shutdown and the new version's on_startup ran.
  assert.match(host.log(), /\[versioned\] versioned v1 stopped/);
  assert.match(host.log(), /\[versioned\] versioned v2 started/);
  await Promise.all([ann.close(), bob.close()]);
});

test('a file rewritten in place is reloaded too', async (t) => {
  const host = stopAfter(t, await hostWith(standard()));
  const c = await Client.open(host.url);
  writeInPlace(host.dir, '20-versioned.so', v2);
  await waitForVersion(c, 'v2');
  await c.close();
});

test('under load, ten reloads lose no event, answer each once, and drop no one', async (t) => {
  const host = stopAfter(t, await hostWith(standard(), ['--watch', '--threads', '2']));
  const clients = await Promise.all(Array.from({ length: 20 }, () => Client.open(host.url)));
  let swapping = true;
  const versionsSeen = new Set();
  // Each client sends its next event as soon as the previous one is answered.
  const senders = clients.map(async (c, i) => {
    let sent = 0;
    while (swapping || sent < 5) {
      c.send('echo_v', `${i}-${sent}`);
      const reply = await c.next('echo_v', 10_000);
      const [tag, version] = reply.split('@');
      assert.equal(tag, `${i}-${sent}`, 'each event answered once, in order');
      versionsSeen.add(version);
      sent++;
    }
    return sent;
  });
  for (let swap = 1; swap <= 10; swap++) {
    renameOver(host.dir, '20-versioned.so', swap % 2 ? v2 : v1);
    await waitFor(() => count(host.log(), "reloaded plugin 'versioned'") >= swap, `reload ${swap}`);
  }
  swapping = false;
  const sent = await Promise.all(senders);
  assert.ok(sent.every((n) => n >= 5));
  assert.deepEqual([...versionsSeen].sort(), ['v1', 'v2']);
  for (const c of clients) {
    assert.equal(c.closed, null);
    assert.equal(c.inbox.length, 0, 'no event answered twice');
  }
  await Promise.all(clients.map((c) => c.close()));
});

test('the old version stays mapped while its handler runs and is unmapped when it returns', async (t) => {
  const host = stopAfter(t, await hostWith(standard(), ['--watch', '--threads', '2']));
  // Connections go to the threads in turn: the second one shares no thread
  // with the reload, which runs on the first.
  const first = await Client.open(host.url);
  const slow = await Client.open(host.url);
  assert.equal(mappedCopies(host, '20-versioned.so').size, 1);
  slow.send('slow', '1500');
  renameOver(host.dir, '20-versioned.so', v2);
  await host.waitForLog(/reloaded plugin 'versioned'/);
  assert.equal(await first.ask('version'), 'v2');
  assert.equal(mappedCopies(host, '20-versioned.so').size, 2, 'the running handler keeps v1 mapped');
  assert.equal(await slow.next('slow'), 'v1', 'an event in a handler finishes on the old code');
  await waitFor(() => mappedCopies(host, '20-versioned.so').size === 1, 'v1 to be unmapped');
  assert.equal(await slow.ask('slow', '0'), 'v2');
  await Promise.all([first.close(), slow.close()]);
});

test('a hundred reloads leave one mapped copy and do not grow the host', async (t) => {
  const host = stopAfter(t, await hostWith(standard(), []));
  const c = await Client.open(host.url);
  const reloads = async (n, offset) => {
    for (let i = 1; i <= n; i++) {
      renameOver(host.dir, '20-versioned.so', (offset + i) % 2 ? v2 : v1);
      host.proc.kill('SIGHUP');
      await waitFor(() => count(host.log(), "reloaded plugin 'versioned'") >= offset + i, `reload ${offset + i}`);
    }
  };
  await reloads(10, 0);  // warm up allocator caches
  const before = rss(host);
  await reloads(100, 10);
  assert.equal(await c.ask('version'), 'v1');
  const grownKiB = rss(host) - before;
  console.log(`RSS ${before} KiB before 100 reloads, grew by ${grownKiB} KiB`);
  if (!env.sanitized) assert.ok(grownKiB < 2048, `RSS grew by ${grownKiB} KiB over 100 reloads`);
  assert.equal(mappedCopies(host, '20-versioned.so').size, 1);
  await c.close();
});

test('each failing new version is refused and the old version keeps answering', async (t) => {
  const host = stopAfter(t, await hostWith({ ...standard(), 'garbage.txt': { text: 'not a library' } }));
  const c = await Client.open(host.url);
  const failures = [
    [join(host.dir, 'garbage.txt'), /refusing plugin 20-versioned\.so: not a loadable shared library .*; the loaded version keeps serving/],
    [testPlugin('refused_wrong_abi'), /refusing plugin 20-versioned\.so: built for plugin ABI 2\.0.*; the loaded version keeps serving/],
    [testPlugin('refused_throwing_init'), /refusing plugin 20-versioned\.so: init failed: init refuses to start; the loaded version keeps serving/],
    [testPlugin('refused_conflicting'), /refusing plugin 'conflicting' \(20-versioned\.so\): event 'echo' is already handled by plugin 'probe'/],
    [testPlugin('refused_no_entry'), /refusing plugin 20-versioned\.so: no microsockets_abi_version symbol: not a microsockets plugin; the loaded version keeps serving/],
  ];
  for (const [source, message] of failures) {
    renameOver(host.dir, '20-versioned.so', source);
    await host.waitForLog(message);
    assert.equal(await c.ask('version'), 'v1');
  }
  renameOver(host.dir, '20-versioned.so', v2);
  await waitForVersion(c, 'v2');
  await c.close();
});

test('a removed plugin stops handling its events, and a new file goes live', async (t) => {
  const host = stopAfter(t, await hostWith(standard()));
  const c = await Client.open(host.url);
  assert.equal(await c.ask('version'), 'v1');
  rmSync(join(host.dir, '20-versioned.so'));
  await host.waitForLog(/unloading plugin 'versioned' \(20-versioned\.so\): its file was removed/);
  assert.equal(await c.ask('version', '', 'unknown'), 'version', 'the fallback applies');
  await waitFor(() => mappedCopies(host, '20-versioned.so').size === 0, 'the removed plugin to be unmapped');

  renameOver(host.dir, '30-versioned.so', v2);
  await host.waitForLog(/loaded plugin 'versioned' \(30-versioned\.so\)/);
  assert.equal(await c.ask('version'), 'v2');
  await c.close();
});

test('the on_reload state blob reaches the new version', async (t) => {
  const host = stopAfter(t, await hostWith(standard()));
  const c = await Client.open(host.url);
  assert.equal(await c.ask('count'), '1');
  assert.equal(await c.ask('count'), '2');
  renameOver(host.dir, '20-versioned.so', v2);
  await host.waitForLog(/plugin 'versioned' \(20-versioned\.so\): handed 1 bytes of state to the new version/);
  assert.equal(await c.ask('version'), 'v2');
  assert.equal(await c.ask('count'), '3');
  await c.close();
});

test('without --watch, SIGHUP reloads changed plugins', async (t) => {
  const host = stopAfter(t, await hostWith(standard(), []));
  const c = await Client.open(host.url);
  renameOver(host.dir, '20-versioned.so', v2);
  assert.equal(await c.ask('version'), 'v1');
  host.proc.kill('SIGHUP');
  await host.waitForLog(/SIGHUP received, reloading changed plugins/);
  await waitForVersion(c, 'v2');
  host.proc.kill('SIGHUP');
  await host.waitForLog(/plugins unchanged/);
  assert.equal(await c.ask('version'), 'v2');
  await c.close();
});
