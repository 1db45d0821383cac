// Runs a TFLite model through LiteRT.js (@litertjs/core, wasm CPU backend) under Node: the
// reference runtime of resin's TFLite tests, as onnxruntime is for ONNX. tests/_litert.ts calls
// it and caches what it writes; run it by hand as
//
//   node tests/litert_reference.mjs REQUEST.json
//
// REQUEST.json: { "litert": ".cache/litert", "model": "m.tflite", "inputs": "x.bin",
//   "dtype": "f32" | "i8", "shape": [1, 32, 32, 3], "count": N,
//   "out": "result.json" }
// `inputs` holds `count` inputs back to back, each the model input's bytes (f32 little-endian or
// i8). The result is { "loaded": file, "outputs": [[...], ...] }: the first output of each run.
//
// LiteRT.js is made for browsers: this script gives it the globals its loader expects (self,
// importScripts, and require/__dirname for the Emscripten module's Node path). Its tensor
// wrapper knows float32/int32/uint8 only, so the script loads a copy of its dist/index.js with
// an int8 entry added to the DATATYPES table (written once beside the original).
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import vm from "node:vm";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const request = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const core = path.resolve(request.litert, "node_modules", "@litertjs", "core");
const wasmDir = path.join(core, "wasm") + path.sep;

/** dist/index.js with an int8 entry in DATATYPES, as a module file beside the original. */
function int8Entry() {
  const original = path.join(core, "dist", "index.js");
  const patched = path.join(core, "dist", "index_resin_int8.js");
  if (!fs.existsSync(patched)) {
    const source = fs.readFileSync(original, "utf8");
    const anchor = "var DATATYPES = Object.freeze([";
    if (!source.includes(anchor)) throw new Error(`${original} has no DATATYPES table`);
    const entry = "{ dtype: 'int8', typedArrayConstructor: Int8Array, " +
      "elementType: ElementType.INT8 },";
    fs.writeFileSync(patched, source.replace(anchor, anchor + entry));
  }
  return patched;
}

const require = createRequire(path.join(core, "package.json"));
let loaded = "";
globalThis.self = globalThis;
globalThis.require = require;
globalThis.__dirname = wasmDir.slice(0, -1);
globalThis.__filename = wasmDir + "litert_wasm_internal.js";
globalThis.importScripts = (url) => {
  loaded = path.basename(String(url));
  vm.runInThisContext(fs.readFileSync(String(url), "utf8"), { filename: String(url) });
};
const { loadLiteRt, loadAndCompile, Tensor } = await import(pathToFileURL(int8Entry()).href);

await loadLiteRt(wasmDir);
const model = await loadAndCompile(new Uint8Array(fs.readFileSync(request.model)), {
  accelerator: "wasm",
});
const bytes = fs.readFileSync(request.inputs);
const Input = request.dtype === "f32" ? Float32Array : Int8Array;
const size = request.shape.reduce((a, b) => a * b, 1);
const outputs = [];
for (let n = 0; n < request.count; n++) {
  const start = bytes.byteOffset + n * size * Input.BYTES_PER_ELEMENT;
  const data = new Input(bytes.buffer.slice(start, start + size * Input.BYTES_PER_ELEMENT));
  const input = new Tensor(data, request.shape);
  const results = await model.run([input]);
  outputs.push(Array.from(results[0].toTypedArray()));
  input.delete();
  for (const r of results) r.delete();
}
fs.writeFileSync(request.out, JSON.stringify({ loaded, outputs }));
