/**
 * LiteRT.js (npm @litertjs/core, wasm CPU backend) as the reference runtime of the TFLite
 * tests, the way onnxruntime is for ONNX. It runs under Node (tests/litert_reference.mjs) from
 * a gitignored install in .cache/litert, made with `LITERT_INSTALL`; tests that need it say
 * "(needs LiteRT)" and are ignored when it is missing. Outputs are cached in
 * .cache/litert/outputs/, keyed by the sha256 of the model, the inputs and the LiteRT version,
 * so only the first run of a test pays for Node.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { sha256Hex } from "../src/weights/sha256.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The install folder (gitignored). */
export const LITERT_DIR = join(ROOT, ".cache", "litert");

/** The command that installs LiteRT.js for these tests, run from the repository root. */
export const LITERT_INSTALL =
  "npm install --prefix .cache/litert --no-audit --no-fund --silent @litertjs/core@2.5.3";

const PACKAGE = join(LITERT_DIR, "node_modules", "@litertjs", "core", "package.json");
const SCRIPT = join(ROOT, "tests", "litert_reference.mjs");

/** True when LiteRT.js is installed and `node` runs. */
export const HAS_LITERT: boolean = (() => {
  if (!existsSync(PACKAGE)) return false;
  try {
    return new Deno.Command("node", { args: ["--version"], stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

/**
 * The first output of LiteRT for each of the `count` inputs held back to back in `inputs`
 * (each of `shape`), from the cache or by running the model under Node.
 */
export async function runLitert(
  model: Uint8Array,
  inputs: Float32Array | Int8Array,
  shape: readonly number[],
  count: number,
): Promise<number[][]> {
  const dtype = inputs instanceof Float32Array ? "f32" : "i8";
  const bytes = new Uint8Array(inputs.buffer, inputs.byteOffset, inputs.byteLength);
  const version = JSON.parse(await Deno.readTextFile(PACKAGE)).version;
  const key = await sha256Hex(
    new TextEncoder().encode(
      [await sha256Hex(model), await sha256Hex(bytes), dtype, shape, count, version].join("|"),
    ),
  );
  const cached = join(LITERT_DIR, "outputs", `${key}.json`);
  if (!existsSync(cached)) {
    const dir = await Deno.makeTempDir({ prefix: "resin-litert-" });
    try {
      await Deno.writeFile(join(dir, "model.tflite"), model);
      await Deno.writeFile(join(dir, "inputs.bin"), bytes);
      const request = {
        litert: LITERT_DIR,
        model: join(dir, "model.tflite"),
        inputs: join(dir, "inputs.bin"),
        dtype,
        shape,
        count,
        out: join(dir, "out.json"),
      };
      await Deno.writeTextFile(join(dir, "request.json"), JSON.stringify(request));
      const run = await new Deno.Command("node", { args: [SCRIPT, join(dir, "request.json")] })
        .output();
      if (!run.success) {
        const log = new TextDecoder().decode(run.stderr).trim().split("\n").slice(-3).join(" | ");
        throw new Error(`LiteRT under Node failed: ${log}`);
      }
      await Deno.mkdir(join(LITERT_DIR, "outputs"), { recursive: true });
      await Deno.copyFile(join(dir, "out.json"), cached);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  return JSON.parse(await Deno.readTextFile(cached)).outputs;
}
