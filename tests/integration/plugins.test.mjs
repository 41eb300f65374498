// Plugin loading: refused libraries leave the host serving the good ones;
// the shipped token_auth and json_payload plugins.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { Client, env, startHost, testPlugin, stopAfter } from './harness.mjs';

test('every refused plugin gets one clear log line and the good plugin keeps serving', async (t) => {
  const host = stopAfter(t, await startHost({
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
