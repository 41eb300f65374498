// Writes dist/microsockets.global.js: the ES module as a classic script that
// defines the global MicroSocket, for pages that load it with a <script> tag.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const source = readFileSync(new URL('./src/microsockets.js', import.meta.url), 'utf8');
const body = source
  .replace(/^export default .*$/m, '')
  .replace(/^export (function|class|const) /gm, '$1 ');
if (/^export /m.test(body)) throw new Error('build.mjs: an export form it does not know');
mkdirSync(new URL('./dist/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./dist/microsockets.global.js', import.meta.url),
  `// Generated from src/microsockets.js by build.mjs.\n(() => {\n${body}\nglobalThis.MicroSocket = MicroSocket;\n})();\n`,
);
