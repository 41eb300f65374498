// host/src's layers (host/ARCHITECTURE.md): a file includes only files of its
// own folder or of a folder below it, never one above. Fails naming each
// include that runs back up.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = join(dirname(fileURLToPath(import.meta.url)), '../../host/src');
// Bottom to top.
const layers = ['base', 'net', 'websocket', 'http', 'plugins', 'core', 'cluster', 'ops'];

test('every folder of host/src is a layer, and no include runs back up', () => {
  const folders = readdirSync(src, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  assert.deepEqual(folders.sort(), [...layers].sort(), 'a new folder of host/src needs its place in the layers');
  const upward = [];
  for (const folder of layers)
    for (const file of readdirSync(join(src, folder))) {
      const text = readFileSync(join(src, folder, file), 'utf8');
      for (const [, target] of text.matchAll(/^#include "([a-z_]+)\/[^"]+"/gm)) {
        assert.ok(layers.includes(target), `${folder}/${file} includes from an unknown folder ${target}/`);
        if (layers.indexOf(target) > layers.indexOf(folder)) upward.push(`${folder}/${file} -> ${target}/`);
      }
    }
  assert.deepEqual(upward, [], `includes that run back up:\n${upward.join('\n')}`);
});
