// --idle-timeout: quiet connections are pinged, silent ones are closed; a
// client that answers pings stays, however long it says nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, startHost, testPlugin, waitFor } from './harness.mjs';

let host;
before(async () => {
  host = await startHost({ plugins: { '10-probe.so': testPlugin('probe') }, args: ['--idle-timeout', '2'] });
});
after(() => host.stop());

test('a dead peer is closed after the idle timeout; a quiet live one is pinged and stays', async () => {
  const quiet = await Client.open(host.url); // ws answers pings by itself
  let pings = 0;
  quiet.ws.on('ping', () => pings++);
  const dead = await Client.open(host.url);
  dead.ws._socket.pause(); // reads nothing, so it answers nothing

  await host.waitForLog(/connection \d+: silent for \d+ s, closing/);
  await waitFor(() => pings > 0, 'a ping to the quiet client');
  dead.ws._socket.resume();
  assert.equal((await dead.waitClosed(10_000)).code, 1001);
  assert.equal(quiet.closed, null);
  assert.equal(await quiet.ask('echo', 'still here'), 'still here');
  await quiet.close();
});
