/**
 * Manifest + weights binary -> Graph. Everything is checked before the graph is built: the
 * manifest (validateManifest), the binary's length and sha256, and the zero padding.
 *
 * Initializers are views into `weights` when their offset in the underlying buffer suits the
 * element size (always, for a buffer read from a file or the network) and copies otherwise, so
 * they may share memory with `weights`.
 *
 * @example
 * ```ts
 * import { decodeModel } from "./decode.ts";
 * const { graph } = await decodeModel(JSON.parse(manifestText), weightsBytes);
 * ```
 *
 * @module
 */

import { DTYPE_BYTES, type Graph, type Tensor } from "../graph/types.ts";
import {
  type Manifest,
  ManifestError,
  requireLittleEndianHost,
  TENSOR_ARRAYS,
  type TensorEntry,
  validateManifest,
  type WeightsFile,
} from "./manifest.ts";
import { sha256Hex } from "./sha256.ts";

/** A decoded model: its validated manifest and the graph with initializer data. */
export interface LoadedModel {
  /** The validated manifest. */
  manifest: Manifest;
  /** The graph; its nodes and values are copies, independent of `manifest`. */
  graph: Graph;
}

/**
 * Validates `manifest` and `weights` against each other and builds the graph. Throws
 * `ManifestError` for any inconsistency: a malformed manifest, a truncated or overlong
 * weights file, a checksum mismatch or non-zero padding.
 */
export async function decodeModel(manifest: unknown, weights: Uint8Array): Promise<LoadedModel> {
  const valid = validateManifest(manifest);
  const lengthError = weightsLengthError(valid.weights, weights.byteLength);
  if (lengthError) throw lengthError;
  const digest = await sha256Hex(weights);
  if (digest !== valid.weights.sha256) {
    throw new ManifestError(
      `${valid.weights.file} checksum mismatch: its sha256 is ${digest}, the manifest says ` +
        `${valid.weights.sha256}; the file is corrupt or does not belong to this manifest`,
    );
  }
  checkPadding(valid, weights);
  requireLittleEndianHost();
  const initializers = new Map<string, Tensor>();
  for (const entry of valid.tensors) initializers.set(entry.name, tensorAt(entry, weights));
  const { nodes, inputs, outputs } = structuredClone(valid.graph);
  return { manifest: valid, graph: { name: valid.name, nodes, inputs, outputs, initializers } };
}

/**
 * The error for a weights file of `actual` bytes whose manifest says otherwise, or `null`
 * when the lengths agree. `source` says where `actual` came from when not the bytes
 * themselves (e.g. a Content-Length header).
 */
export function weightsLengthError(
  weights: WeightsFile,
  actual: number,
  source = "",
): ManifestError | null {
  const from = source === "" ? "" : ` (${source})`;
  if (actual < weights.byteLength) {
    return new ManifestError(
      `${weights.file} is truncated: ${actual} bytes${from}, manifest says ${weights.byteLength}`,
    );
  }
  if (actual > weights.byteLength) {
    return new ManifestError(
      `${weights.file} is too long: ${actual} bytes${from}, manifest says ` +
        `${weights.byteLength}; it does not belong to this manifest`,
    );
  }
  return null;
}

/** Every byte outside the tensors is zero (so a tensor's binding may be rounded up). */
function checkPadding(manifest: Manifest, weights: Uint8Array): void {
  const ranges = manifest.tensors.map((t) => [t.offset, t.offset + t.byteLength]);
  ranges.sort((a, b) => a[0] - b[0]);
  ranges.push([weights.byteLength, weights.byteLength]);
  let gapStart = 0;
  for (const [start, end] of ranges) {
    for (let i = gapStart; i < start; i++) {
      if (weights[i] !== 0) {
        throw new ManifestError(
          `${manifest.weights.file} has the non-zero byte ${weights[i]} at offset ${i}, ` +
            `outside every tensor; padding must be zero`,
        );
      }
    }
    gapStart = Math.max(gapStart, end);
  }
}

/** The tensor `entry` describes: a view of `weights` when aligned, else a copy. */
function tensorAt(entry: TensorEntry, weights: Uint8Array): Tensor {
  const TypedArray = TENSOR_ARRAYS[entry.dtype];
  const length = entry.byteLength / DTYPE_BYTES[entry.dtype];
  const start = weights.byteOffset + entry.offset;
  const data = start % DTYPE_BYTES[entry.dtype] === 0 && weights.buffer instanceof ArrayBuffer
    ? new TypedArray(weights.buffer, start, length)
    : new TypedArray(
      weights.slice(entry.offset, entry.offset + entry.byteLength).buffer,
      0,
      length,
    );
  const tensor: Tensor = { dtype: entry.dtype, shape: [...entry.shape], data };
  if (entry.quant) tensor.quant = structuredClone(entry.quant);
  return tensor;
}
