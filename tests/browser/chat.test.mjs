// The chat page in headless Chromium: two pages, one room, each sees the
// other's join and messages. Leaves a screenshot in the build folder.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { env, startHost } from '../integration/harness.mjs';

let host;
let browser;
before(async () => {
  host = await startHost({
    plugins: { '20-chat.so': join(env.chatPlugins, '20-chat.so') },
    args: ['--static', env.chatWww],
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
});
after(async () => {
  await browser?.close();
  await host?.stop();
});

async function openChat(user) {
  const page = await browser.newPage();
  page.on('pageerror', (e) => assert.fail(`page error in ${user}'s page: ${e.message}`));
  await page.goto(`http://127.0.0.1:${host.port}/`);
  await page.locator('#status', { hasText: 'connected' }).waitFor();
  await page.fill('#join input[name=room]', 'lobby');
  await page.fill('#join input[name=user]', user);
  await page.click('#join button');
  await page.locator('#events li[data-event=joined]').waitFor();
  return page;
}

const seen = (page, event, text) => page.locator(`#events li[data-event="${event}"]`, { hasText: text }).waitFor({ timeout: 5000 });

async function say(page, text) {
  await page.fill('#say input[name=text]', text);
  await page.click('#say button');
}

test('two pages in one room see each other join and talk', async () => {
  const ann = await openChat('ann');
  const bob = await openChat('bob');
  await seen(ann, 'user joined', 'bob');

  await say(bob, 'hello ann');
  await seen(ann, 'message', 'hello ann');
  await say(ann, 'hi bob');
  await seen(bob, 'message', 'hi bob');

  // Each page heard the other, and nobody heard their own message back from the host.
  assert.equal(await ann.locator('#events li[data-event=message]').count(), 1);
  assert.equal(await bob.locator('#events li[data-event=message]').count(), 1);
  await ann.screenshot({ path: join(env.build, 'chat.png'), fullPage: true });
});
