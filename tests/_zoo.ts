/**
 * The full-size zoo-synth models (224x224) for tests and benches: made on demand by
 * ../shared/tools/zoo/make_models.py with Debian's /usr/bin/python3 (python3-onnx, numpy) into
 * .cache/zoo/ (gitignored), about 20 s per model, and reused from there.
 *
 * @example
 * ```ts
 * const why = zooModelUnavailable("resnet18-v1-7");
 * if (why === undefined) {
 *   const bytes = await Deno.readFile(await zooModel("resnet18-v1-7"));
 * }
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { HAS_PYTHON_ONNX } from "../src/onnx/_test_python.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const MAKE_MODELS = fileURLToPath(
  new URL("../../shared/tools/zoo/make_models.py", import.meta.url),
);

/** Where the full-size models are kept: `.cache/zoo/` in the repository. */
export const ZOO_CACHE: string = join(ROOT, ".cache", "zoo");

/** The cached file of the zoo model `name` (e.g. "resnet18-v1-7"), made or not. */
export function zooModelPath(name: string): string {
  return join(ZOO_CACHE, `${name}-synth.onnx`);
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Why the zoo model `name` can be neither read from the cache nor made, or `undefined` when it
 * can: tests that need it are ignored with this reason.
 */
export function zooModelUnavailable(name: string): string | undefined {
  if (isFile(zooModelPath(name))) return undefined;
  if (!isFile(MAKE_MODELS)) return `${MAKE_MODELS} is missing (no ../shared)`;
  if (!HAS_PYTHON_ONNX) {
    return `${name} is not in ${ZOO_CACHE} and /usr/bin/python3 cannot import onnx and numpy ` +
      `to make it (apt-get install python3-onnx python3-numpy)`;
  }
  return undefined;
}

/**
 * The path of the zoo model `name`, made first when it is not cached. The file is written in
 * a private folder and renamed into place, so a concurrent reader never sees half a model.
 */
export async function zooModel(name: string): Promise<string> {
  const path = zooModelPath(name);
  if (isFile(path)) return path;
  const why = zooModelUnavailable(name);
  if (why !== undefined) throw new Error(`Cannot make zoo model "${name}": ${why}`);
  await Deno.mkdir(ZOO_CACHE, { recursive: true });
  const scratch = await Deno.makeTempDir({ dir: ZOO_CACHE, prefix: ".make_" });
  try {
    console.log(`Making ${path} with make_models.py (about 20 s)`);
    const args = [MAKE_MODELS, "--out", scratch, "--only", name];
    const out = await new Deno.Command("/usr/bin/python3", { args, stdout: "null" }).output();
    if (!out.success) {
      const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
      throw new Error(`make_models.py --only ${name} failed (exit ${out.code}): ${stderr}`);
    }
    await Deno.rename(join(scratch, `${name}-synth.onnx`), path);
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
  return path;
}
