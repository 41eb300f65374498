// --allow-origin: a page from another origin gets 403 before any
// plugin sees the upgrade; exact origins and *.domain (subdomains only), with
// scheme and port matched exactly; no Origin header (not a browser) is allowed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, metrics, startHost, testPlugin } from './harness.mjs';

let host;
before(async () => {
  host = await startHost({
    plugins: { '10-probe.so': testPlugin('probe') },
    args: ['--allow-origin', 'https://chat.example.com', '--allow-origin', 'https://*.example.org:8443'],
  });
});
after(() => host.stop());

const statusFor = async (origin, path = '/') => {
  try {
    const c = await Client.open(`${host.url}${path}`, { headers: origin ? { Origin: origin } : {} });
    await c.close();
    return 101;
  } catch (e) {
    return e.status;
  }
};

test('allowed origins and clients without an Origin connect; every other origin gets 403', async () => {
  const cases = [
    ['https://chat.example.com', 101],
    ['HTTPS://Chat.Example.com', 101], // scheme and host are case-insensitive
    [undefined, 101],
    ['https://a.example.org:8443', 101],
    ['https://a.b.example.org:8443', 101],
    ['https://evil.example', 403],
    ['http://chat.example.com', 403], // another scheme
    ['https://chat.example.com:444', 403], // another port
    ['https://example.org:8443', 403], // *.domain is its subdomains only
    ['https://a.example.org', 403],
    ['https://evilexample.org:8443', 403],
    ['null', 403],
  ];
  for (const [origin, status] of cases) assert.equal(await statusFor(origin), status, String(origin));
  assert.equal((await metrics(host)).origins_refused_total, cases.filter(([, s]) => s === 403).length);
});

test('the origin is checked before any plugin sees the upgrade', async () => {
  // The probe would reject this upgrade with 401; the origin check answers first.
  assert.equal(await statusFor('https://evil.example', '/?reject=401'), 403);
  assert.equal(await statusFor('https://chat.example.com', '/?reject=401'), 401);
  assert.doesNotMatch(host.log(), /listening on .* every origin allowed/);
});

test('a bad --allow-origin or --trust-proxy is a one-line error', async () => {
  const { spawnSync } = await import('node:child_process');
  const { env } = await import('./harness.mjs');
  for (const [flag, value] of [['--allow-origin', 'chat.example.com'], ['--trust-proxy', '10.0.0.0/33']]) {
    const run = spawnSync(env.host, [flag, value], { encoding: 'utf8' });
    assert.equal(run.status, 2);
    assert.match(run.stderr, new RegExp(`^microsockets: ${flag} expects .*'${value.replace('.', '\\.')}'`));
  }
});
