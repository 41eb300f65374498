// Hot reload: swap plugin files under a running host, as a compiler would,
// and check that nobody is dropped and every event is answered exactly once.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

// The host's open file descriptors that are copies of plugin file `file`.
const openCopies = (host, file) =>
  readdirSync(`/proc/${host.proc.pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${host.proc.pid}/fd/${fd}`).startsWith(`/memfd:${file} `);
    } catch {
      return false;  // closed while we looked
    }
  }).length;

// Stops the host as a user would and returns its whole log.
async function stopGracefully(host) {
  host.proc.kill('SIGTERM');
  assert.deepEqual(await host.exited, { code: 0, signal: null });
  return host.log();
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
  assert.doesNotMatch(host.log(), /versioned v1 stopped/, "v1's on_shutdown waits for its running handler");
  assert.equal(await slow.next('slow'), 'v1', 'an event in a handler finishes on the old code');
  await host.waitForLog(/versioned v1 stopped/);
  await waitFor(() => mappedCopies(host, '20-versioned.so').size === 1, 'v1 to be unmapped');
  assert.equal(await slow.ask('slow', '0'), 'v2');
  await Promise.all([first.close(), slow.close()]);
  const log = await stopGracefully(host);
  assert.equal(count(log, 'versioned v1 stopped'), 1);
  assert.equal(count(log, 'versioned v2 stopped'), 1, 'the serving version stops once at exit');
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
  assert.equal(openCopies(host, '20-versioned.so'), 1, 'a refused version leaves no copy open');
  assert.equal(mappedCopies(host, '20-versioned.so').size, 1, 'nor mapped');
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

const claims = (tag) => testPlugin(`claims_${tag}`);
const escaped = (text) => text.replace(/[.()]/g, '\\$&');

for (const [aFile, bFile] of [['10-a.so', '20-b.so'], ['20-a.so', '10-b.so']]) {
  test(`a new version that claims a serving plugin's event is refused and the old one serves on (${aFile}, ${bFile})`, async (t) => {
    const host = stopAfter(t, await hostWith({ [aFile]: claims('a1'), [bFile]: claims('b1') }));
    const c = await Client.open(host.url);
    assert.equal(await c.ask('a'), 'a1');
    assert.equal(await c.ask('x'), 'b1');
    renameOver(host.dir, aFile, claims('a2'));  // a now claims x too
    await host.waitForLog(new RegExp(escaped(
      `refusing plugin 'a' (${aFile}): event 'x' is already handled by plugin 'b' (${bFile}); the loaded version keeps serving`)));
    assert.equal(await c.ask('a'), 'a1');
    assert.equal(await c.ask('x'), 'b1');
    assert.doesNotMatch(host.log(), /refusing plugin 'b'|unloading plugin 'b'/);
    renameOver(host.dir, aFile, claims('a1'));  // fixed: a goes live again, b untouched
    await host.waitForLog(new RegExp(escaped(`reloaded plugin 'a' (${aFile})`)));
    assert.equal(await c.ask('x'), 'b1');
    await c.close();
  });
}

test('between two files new in one reload, the file name decides', async (t) => {
  const host = stopAfter(t, await hostWith({ '10-probe.so': testPlugin('probe') }, []));
  const c = await Client.open(host.url);
  copyFileSync(claims('b1'), join(host.dir, '40-b.so'));
  copyFileSync(claims('a2'), join(host.dir, '50-a.so'));
  host.proc.kill('SIGHUP');
  await host.waitForLog(/refusing plugin 'a' \(50-a\.so\): event 'x' is already handled by plugin 'b' \(40-b\.so\)$/m);
  assert.equal(await c.ask('x'), 'b1');
  assert.equal(await c.ask('a', '', 'unknown'), 'a', 'the refused newcomer serves nothing');
  await c.close();
});

test('two changed files that clash both keep their serving versions', async (t) => {
  const host = stopAfter(t, await hostWith({ '05-probe.so': testPlugin('probe'), '10-a.so': claims('a1'), '20-b.so': claims('b1') }, []));
  const c = await Client.open(host.url);
  renameOver(host.dir, '10-a.so', claims('a2'));  // claims a, x
  renameOver(host.dir, '20-b.so', claims('b2'));  // claims x, y
  host.proc.kill('SIGHUP');
  // b's new version loses x to a's by file name; b's old version then serves
  // on, and a's new version may not take x from it.
  await host.waitForLog(/refusing plugin 'b' \(20-b\.so\): event 'x' is already handled by plugin 'a' \(10-a\.so\); the loaded version keeps serving/);
  await host.waitForLog(/refusing plugin 'a' \(10-a\.so\): event 'x' is already handled by plugin 'b' \(20-b\.so\); the loaded version keeps serving/);
  assert.equal(await c.ask('a'), 'a1');
  assert.equal(await c.ask('x'), 'b1');
  assert.equal(await c.ask('y', '', 'unknown'), 'y');
  await c.close();
});

test('a storm of SIGHUPs during copies and reloads loses no plugin', async (t) => {
  const host = stopAfter(t, await hostWith(standard(), []));
  const c = await Client.open(host.url);
  // Another process sends SIGHUPs as fast as it can, hundreds per reload.
  const storm = spawn('sh', ['-c', `while kill -HUP ${host.proc.pid}; do :; done`], { stdio: 'ignore' });
  const stormEnded = new Promise((resolve) => storm.on('exit', resolve));
  t.after(() => storm.kill('SIGKILL'));
  for (let round = 1; round <= 10; round++) {
    renameOver(host.dir, '20-versioned.so', round % 2 ? v2 : v1);
    await waitForVersion(c, round % 2 ? 'v2' : 'v1');
    assert.equal(await c.ask('echo', `round ${round}`), `round ${round}`);
  }
  storm.kill('SIGKILL');
  await stormEnded;
  assert.ok(count(host.log(), 'SIGHUP received') >= 10);
  assert.doesNotMatch(host.log(), /refusing/);
  assert.equal(c.closed, null);
  await c.close();
});

test("every thread of the host blocks SIGHUP, SIGINT and SIGTERM, so none is interrupted by them", async (t) => {
  const host = stopAfter(t, await hostWith({ ...standard(), '30-own_thread.so': testPlugin('own_thread') }, ['--threads', '2']));
  const c = await Client.open(host.url);
  assert.equal(await c.ask('hold_thread'), '');  // a thread the plugin starts
  const tasks = `/proc/${host.proc.pid}/task`;
  const blocked = (tid) => BigInt(`0x${readFileSync(`${tasks}/${tid}/status`, 'utf8').match(/SigBlk:\s+(\w+)/)[1]}`);
  const hostSignals = (1n << 0n) | (1n << 1n) | (1n << 14n);  // SIGHUP, SIGINT, SIGTERM
  const threads = readdirSync(tasks);
  assert.ok(threads.length >= 3, `${threads.length} threads: two workers and the plugin's`);
  for (const tid of threads) assert.equal(blocked(tid) & hostSignals, hostSignals, `thread ${tid}`);
  assert.equal(await c.ask('release_thread'), '');
  await c.close();
});

test('a symlink planted where copies once went is not followed, and the plugins load', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'microsockets-victim-'));
  const victim = join(base, 'victim.txt');
  writeFileSync(victim, 'precious');
  let trap;
  t.after(() => [trap, base].forEach((d) => d && rmSync(d, { recursive: true, force: true })));
  // What another local user would pre-create: the folder copies went to
  // (/tmp/microsockets-<pid>), with symlinks named like the copies.
  const plant = (pid) => {
    trap = join(tmpdir(), `microsockets-${pid}`);
    mkdirSync(trap, { mode: 0o777 });
    for (let i = 0; i < 8; i++)
      for (const file of ['10-probe.so', '20-versioned.so']) symlinkSync(victim, join(trap, `${i}-${file}`));
  };
  const host = stopAfter(t, await startHost({ plugins: standard(), beforeStart: plant }));
  const planted = readdirSync(trap).sort();
  const c = await Client.open(host.url);
  assert.equal(await c.ask('version'), 'v1');
  renameOver(host.dir, '20-versioned.so', v2);
  host.proc.kill('SIGHUP');
  await waitForVersion(c, 'v2');
  assert.equal(readFileSync(victim, 'utf8'), 'precious');
  assert.deepEqual(readdirSync(trap).sort(), planted, 'the host neither wrote nor removed anything there');
  await c.close();
});

test('without memfd, copies go to a private folder that leaves nothing behind', async (t) => {
  const temporary = mkdtempSync(join(tmpdir(), 'microsockets-tmpdir-'));
  t.after(() => rmSync(temporary, { recursive: true, force: true }));
  const extraEnv = {
    LD_PRELOAD: testPlugin('no_memfd'),
    TMPDIR: temporary,
    ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ?? ''}:verify_asan_link_order=0`,
  };
  const host = stopAfter(t, await startHost({ plugins: standard(), args: [], extraEnv }));
  const c = await Client.open(host.url);
  assert.equal(await c.ask('version'), 'v1');
  const folders = () => readdirSync(temporary);
  assert.equal(folders().length, 2, 'one private folder per loaded plugin');
  for (const folder of folders()) {
    assert.match(folder, /^microsockets-\w{6}$/);
    assert.equal(statSync(join(temporary, folder)).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(temporary, folder)), [], 'the copy is unlinked once mapped');
  }
  assert.equal(mappedCopies(host, '20-versioned.so').size, 1);
  renameOver(host.dir, '20-versioned.so', testPlugin('refused_throwing_init'));
  host.proc.kill('SIGHUP');
  await host.waitForLog(/refusing plugin 20-versioned\.so: init failed/);
  assert.equal(folders().length, 2, 'a refused load leaves no folder');
  renameOver(host.dir, '20-versioned.so', v2);
  host.proc.kill('SIGHUP');
  await waitForVersion(c, 'v2');
  await waitFor(() => folders().length === 2, "the old version's folder to go");
  await c.close();
  await stopGracefully(host);
  assert.deepEqual(folders(), [], 'nothing is left at exit');
});

test('without memfd and with a noexec TMPDIR, the refusal says why', async (t) => {
  // A noexec tmpfs in a mount namespace of the host's own, where one can be made.
  if (spawnSync('unshare', ['-m', 'mount', '-t', 'tmpfs', 'tmpfs', tmpdir()]).status !== 0) {
    t.skip('cannot make a mount namespace here');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'microsockets-noexec-'));
  copyFileSync(testPlugin('probe'), join(dir, '10-probe.so'));
  mkdirSync(join(dir, 'tmp'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const script = 'mount -t tmpfs -o noexec tmpfs "$TMPDIR" && exec "$0" "$@"';
  const proc = spawn('unshare', ['-m', 'sh', '-c', script, env.host, '--port', '0', '--plugins', dir], {
    env: { ...process.env, TMPDIR: join(dir, 'tmp'), LD_PRELOAD: testPlugin('no_memfd'),
           ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ?? ''}:verify_asan_link_order=0` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  // The only plugin cannot be loaded: the host does not start, and says why.
  assert.deepEqual(await exited, { code: 1, signal: null }, log);
  assert.match(log, /refusing plugin 10-probe\.so: .*the private copy's folder .* is on a noexec mount .*set TMPDIR/);
  assert.match(log, /microsockets: cannot start with the plugins of .*10-probe\.so: .*noexec/);
  assert.doesNotMatch(log, /listening on/);
});
