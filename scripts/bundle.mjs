// Writes web/dist/sse-balancer.js, the module the package ships, and its
// source map: the Emscripten glue (web/dist/sse-balancer-core.js, which
// defines createSseBalancerCore), web/share.js and web/index.js, minified. One
// module instead of a chain (index.js, then the glue it imports): a page
// waits for one file before the .wasm, not two, and parses less.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { minify } from 'vite';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const glueFile = path.join(root, 'web/dist/sse-balancer-core.js');
const shareFile = path.join(root, 'web/share.js');
const faceFile = path.join(root, 'web/index.js');
const outFile = path.join(root, 'web/dist/sse-balancer.js');

const glue = fs.readFileSync(glueFile, 'utf8');
// EXPORT_ES6 ends the glue with its factory as the default export; the
// bundle exports only the public API of web/index.js.
const exportLine = /\nexport default createSseBalancerCore;\s*$/;
if (!exportLine.test(glue)) {
  throw new Error(`bundle: ${glueFile} does not end with 'export default createSseBalancerCore;' (was it built with -sEXPORT_ES6?)`);
}
const share = fs.readFileSync(shareFile, 'utf8');
const face = fs.readFileSync(faceFile, 'utf8');
const source = `${glue.replace(exportLine, '\n')}\n// ---- web/share.js ----\n${share}\n// ---- web/index.js ----\n${face}`;
const sourceName = 'sse-balancer.src.js';
const { code, map, errors } = await minify(sourceName, source, { module: true, compress: true, mangle: true, sourcemap: true });
if (errors.length > 0) throw new Error(`bundle: minifying failed: ${errors.map((e) => e.message).join('; ')}`);
// Bundlers find the .wasm through this pattern; it must survive minifying.
if (!/new URL\(["'`]\.\/sse-balancer-core\.wasm["'`],\s*import\.meta\.url\)/.test(code)) {
  throw new Error("bundle: the minified module lost new URL('./sse-balancer-core.wasm', import.meta.url)");
}
if (/\bimport\(/.test(code)) {
  throw new Error('bundle: the module has a dynamic import() that a browser bundler would try to resolve');
}
const write = (file, text) => {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
};
write(`${outFile}.map`, JSON.stringify(map));
write(outFile, `${code}\n//# sourceMappingURL=${path.basename(outFile)}.map\n`);
