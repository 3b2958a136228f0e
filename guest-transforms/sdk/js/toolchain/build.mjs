// Builds a holo-host transform written in JavaScript into a component with componentize-js
// (StarlingMonkey): node build.mjs APP.js WIT_DIR OUT.wasm. The component gets no WASI
// features beyond what the engine itself needs: no clocks, random, stdio or HTTP.
import { componentize } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';

const [source, wit, out] = process.argv.slice(2);
if (!out) {
  console.error('usage: node build.mjs APP.js WIT_DIR OUT.wasm');
  process.exit(2);
}
const { component } = await componentize({
  sourcePath: source,
  witPath: wit,
  worldName: 'transform',
  disableFeatures: ['random', 'stdio', 'clocks', 'http', 'fetch-event'],
});
await writeFile(out, component);
