// The chat page over https:// in headless Chromium: the page comes from the
// TLS port and its client connects back over wss:// to the same port. The
// certificate is the test's own, made with openssl (Chromium is told to accept it).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { env, makeCertificate, startHost } from '../integration/harness.mjs';

let base;
let host;
let browser;
before(async () => {
  base = mkdtempSync(join(tmpdir(), 'microsockets-https-'));
  const { cert, key } = makeCertificate(base, 'microsockets-https');
  host = await startHost({
    plugins: { '20-chat.so': join(env.chatPlugins, '20-chat.so') },
    args: ['--static', env.chatWww, '--tls-cert', cert, '--tls-key', key],
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--ignore-certificate-errors'],
  });
});
after(async () => {
  await browser?.close();
  await host?.stop();
  rmSync(base, { recursive: true, force: true });
});

test('the chat page over https talks over wss to the same port', async () => {
  const pages = [];
  for (const user of ['ann', 'bob']) {
    const page = await browser.newPage();
    page.on('pageerror', (e) => assert.fail(`page error in ${user}'s page: ${e.message}`));
    const response = await page.goto(`https://127.0.0.1:${host.port}/`);
    assert.equal(response.status(), 200);
    assert.equal(new URL(page.url()).protocol, 'https:');
    await page.locator('#status', { hasText: 'connected' }).waitFor();
    await page.fill('#join input[name=room]', 'lobby');
    await page.fill('#join input[name=user]', user);
    await page.click('#join button');
    await page.locator('#events li[data-event=joined]').waitFor();
    pages.push(page);
  }
  const [ann, bob] = pages;
  const seen = (page, event, text) => page.locator(`#events li[data-event="${event}"]`, { hasText: text }).waitFor({ timeout: 5000 });
  await seen(ann, 'user joined', 'bob');
  await bob.fill('#say input[name=text]', 'hello over tls');
  await bob.click('#say button');
  await seen(ann, 'message', 'hello over tls');
  // The port speaks TLS only: the pages' sockets are wss://, upgraded on it.
  assert.equal((host.log().match(/connection \d+ from 127\.0\.0\.1:\d+ on \//g) ?? []).length, 2);
});
