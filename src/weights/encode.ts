/**
 * Graph -> manifest + weights binary. Initializers are laid out in the graph's order, each at
 * the next multiple of `TENSOR_ALIGNMENT`, with zero bytes between them and after the last.
 *
 * @example
 * ```ts
 * import { encodeModel } from "./encode.ts";
 * import { writeModelDir } from "./load_file.ts";
 * const encoded = await encodeModel(graph, { name: graph.name, provenance });
 * await writeModelDir("out/resnet18", encoded);
 * ```
 *
 * @module
 */

import { type Graph, sizeOf, type Tensor } from "../graph/types.ts";
import type { ImagePreprocess } from "./preprocess.ts";
import {
  alignUp,
  DEFAULT_WEIGHTS_FILE,
  FORMAT_LIMITS,
  FORMAT_NAME,
  FORMAT_VERSION,
  type Manifest,
  type Provenance,
  requireLittleEndianHost,
  TENSOR_ARRAYS,
  type TensorEntry,
  validateManifest,
} from "./manifest.ts";
import { sha256Hex } from "./sha256.ts";

/** What a manifest says about a model beyond its graph. */
export interface ModelMeta {
  /** Model name (usually `graph.name`; the decoded graph takes this name). */
  name: string;
  /** The image preprocessing recipe for the first graph input. */
  preprocess?: ImagePreprocess;
  /** Class labels in output index order. */
  labels?: string[];
  /** Where the model came from. */
  provenance: Provenance;
}

/**
 * Encodes `graph` and `meta` into a validated manifest and the weights binary. Throws when an
 * initializer's data does not fit its dtype and shape, or the manifest would be invalid
 * (`ManifestError`, e.g. a node input that nothing defines).
 */
export async function encodeModel(
  graph: Graph,
  meta: ModelMeta,
): Promise<{ manifest: Manifest; weights: Uint8Array<ArrayBuffer> }> {
  requireLittleEndianHost();
  const tensors: TensorEntry[] = [];
  let end = 0;
  for (const [name, tensor] of graph.initializers) {
    checkData(name, tensor);
    const offset = alignUp(end);
    const { dtype, shape, quant } = tensor;
    const entry: TensorEntry = { name, dtype, shape, offset, byteLength: tensor.data.byteLength };
    if (quant) entry.quant = quant;
    tensors.push(entry);
    end = offset + entry.byteLength;
  }
  const byteLength = alignUp(end);
  if (byteLength > FORMAT_LIMITS.weightBytes) {
    throw new Error(
      `Model "${meta.name}" has ${byteLength} bytes of weights, more than the format's limit ` +
        `of ${FORMAT_LIMITS.weightBytes}`,
    );
  }
  const weights = new Uint8Array(byteLength);
  for (const entry of tensors) {
    const data = graph.initializers.get(entry.name)!.data;
    weights.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), entry.offset);
  }
  const manifest = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    name: meta.name,
    provenance: meta.provenance,
    weights: { file: DEFAULT_WEIGHTS_FILE, byteLength, sha256: await sha256Hex(weights) },
    preprocess: meta.preprocess,
    graph: { nodes: graph.nodes, inputs: graph.inputs, outputs: graph.outputs },
    tensors,
    labels: meta.labels,
  };
  // Validation copies every field (dropping absent optional ones), so the manifest shares
  // nothing with `graph` or `meta`.
  return { manifest: validateManifest(manifest), weights };
}

/** The typed array matches the dtype and holds exactly the shape's element count. */
function checkData(name: string, tensor: Tensor): void {
  const expected = TENSOR_ARRAYS[tensor.dtype];
  if (!(tensor.data instanceof expected)) {
    throw new Error(
      `Initializer "${name}" is ${tensor.dtype}, so its data must be ${expected.name}, ` +
        `not ${tensor.data.constructor.name}`,
    );
  }
  const elements = sizeOf(tensor.shape);
  if (tensor.data.length !== elements) {
    throw new Error(
      `Initializer "${name}" has ${tensor.data.length} elements but its shape ` +
        `[${tensor.shape}] needs ${elements}`,
    );
  }
}
