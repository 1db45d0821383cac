/**
 * Model folders on the Deno file system: `manifest.json` beside its weights file.
 *
 * @example
 * ```ts
 * import { loadModelFromDir, writeModelDir } from "./load_file.ts";
 * await writeModelDir("models/resnet18", await encodeModel(graph, meta));
 * const { graph: loaded } = await loadModelFromDir("models/resnet18");
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { decodeModel, type LoadedModel, weightsLengthError } from "./decode.ts";
import {
  FORMAT_LIMITS,
  type Manifest,
  MANIFEST_FILE,
  ManifestError,
  parseManifestJson,
  stringifyManifest,
  validateManifest,
} from "./manifest.ts";

/**
 * Loads the model in `dir`. Sizes are checked against the limits and the manifest before
 * either file is read.
 */
export async function loadModelFromDir(dir: string): Promise<LoadedModel> {
  const manifestPath = join(dir, MANIFEST_FILE);
  const manifestSize = await fileSize(
    manifestPath,
    `Model folder "${dir}" has no ${MANIFEST_FILE}`,
  );
  if (manifestSize > FORMAT_LIMITS.manifestBytes) {
    throw new ManifestError(
      `${manifestPath} is ${manifestSize} bytes, more than the limit of ` +
        `${FORMAT_LIMITS.manifestBytes}`,
    );
  }
  const manifest = validateManifest(parseManifestJson(await Deno.readFile(manifestPath)));
  const weightsPath = join(dir, manifest.weights.file);
  const weightsSize = await fileSize(
    weightsPath,
    `Model folder "${dir}" has no ${manifest.weights.file}, which its manifest names`,
  );
  const lengthError = weightsLengthError(manifest.weights, weightsSize);
  if (lengthError) throw lengthError;
  return decodeModel(manifest, await Deno.readFile(weightsPath));
}

/**
 * Writes an encoded model into `dir` (created if needed): the weights file, then
 * `manifest.json`, each through a temporary file renamed into place, so a reader never sees a
 * partly written file.
 */
export async function writeModelDir(
  dir: string,
  encoded: { manifest: Manifest; weights: Uint8Array },
): Promise<void> {
  const manifest = validateManifest(encoded.manifest);
  const lengthError = weightsLengthError(manifest.weights, encoded.weights.byteLength);
  if (lengthError) throw lengthError;
  await Deno.mkdir(dir, { recursive: true });
  await writeAtomically(join(dir, manifest.weights.file), encoded.weights);
  await writeAtomically(
    join(dir, MANIFEST_FILE),
    new TextEncoder().encode(stringifyManifest(manifest)),
  );
}

async function fileSize(path: string, missing: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new Error(missing);
    throw err;
  }
}

async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const partial = `${path}.partial`;
  await Deno.writeFile(partial, bytes);
  await Deno.rename(partial, path);
}
