// Writes web/dist/sse-balancer.js, the module the package ships: the
// Emscripten glue (web/dist/sse-balancer-core.js, which defines
// createSseBalancerCore) followed by web/index.js. One module instead of a
// chain (index.js, then the glue it imports): a page waits for one file
// before the .wasm, not two.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const glueFile = path.join(root, 'web/dist/sse-balancer-core.js');
const faceFile = path.join(root, 'web/index.js');
const outFile = path.join(root, 'web/dist/sse-balancer.js');

const glue = fs.readFileSync(glueFile, 'utf8');
// EXPORT_ES6 ends the glue with its factory as the default export; the
// bundle exports only the public API of web/index.js.
const exportLine = /\nexport default createSseBalancerCore;\s*$/;
if (!exportLine.test(glue)) {
  throw new Error(`bundle: ${glueFile} does not end with 'export default createSseBalancerCore;' (was it built with -sEXPORT_ES6?)`);
}
const face = fs.readFileSync(faceFile, 'utf8');
const out = `${glue.replace(exportLine, '\n')}\n// ---- web/index.js ----\n${face}`;
fs.writeFileSync(`${outFile}.tmp`, out);
fs.renameSync(`${outFile}.tmp`, outFile);
