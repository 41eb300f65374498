// Beast's own WebSocket client talks to the host: a second, independent
// implementation of RFC 6455 on the other end of the wire.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { startHost, stopAfter, testPlugin } from './harness.mjs';

test('Beast\'s client upgrades, sends whole and fragmented messages, pings and closes cleanly', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: { '10-probe.so': testPlugin('probe') } }));
  const { stdout } = await promisify(execFile)(process.env.MICROSOCKETS_BEAST_CLIENT, [String(host.port)], { timeout: 10_000 });
  assert.deepEqual(stdout.trim().split('\n'), ['upgraded', 'echoed', 'fragments assembled', 'ponged', 'closed']);
});
