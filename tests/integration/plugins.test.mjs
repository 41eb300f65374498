// Plugin loading: a plugin file that cannot be loaded stops the start (fails
// closed), or with --allow-missing-plugins is logged while the good ones
// serve; a reload never drops a serving plugin whose file broke; the shipped
// token_auth and json_payload plugins.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { join } from 'node:path';
import { Client, env, metrics, pluginDir, startHost, testPlugin, stopAfter, waitFor } from './harness.mjs';

const tokenAuth = join(env.plugins, '05-token_auth.so');

// Runs the host on `dir` until it exits by itself (it must not start).
function runHost(dir, ...args) {
  return spawnSync(env.host, ['--port', '0', '--plugins', dir, ...args], { encoding: 'utf8', timeout: 10000 });
}

for (const [what, make, why] of [
  ['a dangling link', (dir) => symlinkSync(join(dir, 'gone.so'), join(dir, '05-token_auth.so')), /05-token_auth\.so: a link to nothing/],
  ['a file that is not a library', (dir) => writeFileSync(join(dir, '05-token_auth.so'), 'not ELF\n'), /05-token_auth\.so: not a loadable shared library/],
  ['a library of another ABI', (dir) => symlinkSync(testPlugin('refused_wrong_abi'), join(dir, '05-token_auth.so')), /05-token_auth\.so: built for plugin ABI 2\.0/],
  ['a plugin whose event is taken', (dir) => symlinkSync(testPlugin('refused_conflicting'), join(dir, '20-conflicting.so')), /'conflicting' \(20-conflicting\.so\): event 'echo' is already handled/],
]) {
  test(`${what} in the plugins folder stops the start with one line naming it`, (t) => {
    const dir = pluginDir({ '10-probe.so': testPlugin('probe') });
    t.after(() => spawnSync('rm', ['-rf', dir]));
    make(dir);
    const r = runHost(dir);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const line = r.stderr.split('\n').find((l) => l.startsWith('microsockets: '));
    assert.match(line, /^microsockets: cannot start with the plugins of '.*': /);
    assert.match(line, why);
    assert.match(line, /start with --allow-missing-plugins to serve without it\)$/);
    assert.doesNotMatch(r.stdout + r.stderr, /listening on/);
  });
}

test('every refused plugin gets one clear log line and, with --allow-missing-plugins, the good plugin keeps serving', async (t) => {
  const host = stopAfter(t, await startHost({
    args: ['--allow-missing-plugins'],
    plugins: {
      '10-probe.so': testPlugin('probe'),
      '20-not_a_library.so': { text: 'this is not an ELF file\n' },
      '21-no_entry.so': testPlugin('refused_no_entry'),
      '22-wrong_abi.so': testPlugin('refused_wrong_abi'),
      '23-throwing_init.so': testPlugin('refused_throwing_init'),
      '24-conflicting.so': testPlugin('refused_conflicting'),
      'README.txt': { text: 'not a plugin, and not .so: ignored' },
    },
  }));
  const log = host.log();
  assert.match(log, /refusing plugin 20-not_a_library\.so: not a loadable shared library/);
  assert.match(log, /refusing plugin 21-no_entry\.so: no microsockets_abi_version symbol/);
  assert.match(log, /refusing plugin 22-wrong_abi\.so: built for plugin ABI 2\.0, this host speaks 1\.\d+/);
  assert.match(log, /refusing plugin 23-throwing_init\.so: init failed: init refuses to start/);
  assert.match(log, /refusing plugin 'conflicting' \(24-conflicting\.so\): event 'echo' is already handled by plugin 'probe' \(10-probe\.so\)/);
  assert.doesNotMatch(log, /README/);
  assert.match(log, /loaded plugin 'probe' \(10-probe\.so\)/);

  const c = await Client.open(host.url);
  assert.equal(await c.ask('echo', 'served by probe'), 'served by probe');
  await c.close();
  assert.equal((await metrics(host))['plugin_refusals_total{plugin="23-throwing_init.so"}'], 1);
});

test('a plugin whose file breaks before a reload keeps serving: the failure is an error line and counted', async (t) => {
  const dir = pluginDir({ '10-probe.so': testPlugin('probe') });
  symlinkSync(tokenAuth, join(dir, '05-token_auth.so'));
  const host = stopAfter(t, await startHost({ plugins: dir, args: ['--set', 'token_auth.tokens=alpha'] }));
  await assert.rejects(Client.open(host.url), (e) => e.status === 401);

  unlinkSync(join(dir, '05-token_auth.so'));
  symlinkSync(join(dir, 'moved-away.so'), join(dir, '05-token_auth.so'));  // dangling now
  host.proc.kill('SIGHUP');
  await host.waitForLog(/refusing plugin 05-token_auth\.so: a link to nothing; the loaded version keeps serving/);
  await assert.rejects(Client.open(host.url), (e) => e.status === 401, 'authentication is still on');
  assert.doesNotMatch(host.log(), /unloading plugin 'token_auth'/);
  await waitFor(async () => (await metrics(host))['plugin_refusals_total{plugin="token_auth"}'] === 1, 'the refusal counted');

  // Mended, then removed on purpose: only a removed file unloads its plugin.
  unlinkSync(join(dir, '05-token_auth.so'));
  host.proc.kill('SIGHUP');
  await host.waitForLog(/unloading plugin 'token_auth' \(05-token_auth\.so\): its file was removed/);
  const c = await Client.open(host.url);
  await c.close();
});

test('token_auth refuses upgrades without a configured token with 401, and accepts one that has it', async (t) => {
  const host = stopAfter(t, await startHost({
    plugins: { '05-token_auth.so': join(env.plugins, '05-token_auth.so'), '10-probe.so': testPlugin('probe') },
    args: ['--set', 'token_auth.tokens=alpha,beta'],
  }));
  await assert.rejects(Client.open(host.url), (e) => e.status === 401);
  await assert.rejects(Client.open(`${host.url}/?token=gamma`), (e) => e.status === 401 && /unknown token/.test(e.body));
  const byQuery = await Client.open(`${host.url}/?token=beta`);
  assert.equal(await byQuery.ask('get', 'token'), 'beta');
  const byHeader = await Client.open(host.url, { headers: { Authorization: 'Bearer alpha' } });
  assert.equal(await byHeader.ask('get', 'token'), 'alpha');
  await Promise.all([byQuery.close(), byHeader.close()]);
});

test('token_auth reads its tokens from the environment too', async (t) => {
  const host = stopAfter(t, await startHost({
    plugins: { '05-token_auth.so': join(env.plugins, '05-token_auth.so'), '10-probe.so': testPlugin('probe') },
    extraEnv: { MICROSOCKETS_TOKEN_AUTH_TOKENS: 'from-env' },
  }));
  const c = await Client.open(`${host.url}/?token=from-env`);
  await c.close();
});

test('json_payload answers a payload that is not JSON with an error and skips the handler', async (t) => {
  const host = stopAfter(t, await startHost({
    plugins: { '10-json_payload.so': join(env.plugins, '10-json_payload.so'), '20-probe.so': testPlugin('probe') },
  }));
  const c = await Client.open(host.url);
  assert.match(await c.ask('echo', 'not json', 'error'), /payload of "echo" is not valid JSON: syntax error/);
  assert.equal(await c.ask('echo', '{"ok":true}'), '{"ok":true}');
  await c.close();
});
