/**
 * Conversion-time folding of a BatchNormalization into the Conv before it.
 *
 * @module
 */

import {
  batchNormAffine,
  constantF32,
  consumersOf,
  freshName,
  graphOutputNames,
  producersOf,
  valueNames,
} from "../graph_utils.ts";
import { type Graph, makeTensor, type Node } from "../types.ts";

/**
 * Folds Conv -> BatchNormalization into the Conv when the conv output has no other reader
 * and is not a graph output, the Conv has constant f32 weights (and bias, if any) and no
 * residual or activation epilogue, and the BN has constant f32 parameters. With
 * scale = gamma / sqrt(var + eps) per output channel m:
 * W'[m] = W[m] * scale[m] and b'[m] = (b[m] - mean[m]) * scale[m] + beta[m] (b = 0 without
 * a bias). The Conv then produces the BN's output.
 *
 * Exact in real arithmetic, since BN after a conv is a per-output-channel affine map of a
 * linear function. Rounding: W' and b' are computed in float64 (scale included) and each
 * rounded to f32 once. A weight or bias read by another node is copied under a fresh name; the BN's
 * parameters are left for `removeUnused`. Post-activation ResNets (v1, caffe2) lose every
 * BN here; already-folded exports have nothing to fold.
 *
 * @example
 * ```ts
 * const folded = removeUnused(foldBatchNorm(graph));
 * ```
 */
export function foldBatchNorm(graph: Graph): Graph {
  const consumers = consumersOf(graph);
  const outputs = graphOutputNames(graph);
  const producers = producersOf(graph);
  const taken = valueNames(graph);
  const initializers = new Map(graph.initializers);
  const nodes: (Node | null)[] = [...graph.nodes];

  /**
   * A name for the folded version of constant `name`: its own when this conv is its only
   * reader (names this pass made have that one reader), else a fresh one from `base`.
   */
  const foldedName = (name: string, base: string) =>
    name !== "" && (consumers.get(name)?.length ?? 1) === 1 ? name : freshName(base, taken);

  graph.nodes.forEach((bn, bnIndex) => {
    if (bn.op !== "BatchNormalization") return;
    const convIndex = producers.get(bn.inputs[0]);
    const conv = convIndex === undefined ? null : nodes[convIndex];
    if (!conv || conv.op !== "Conv" || !foldableConv(conv)) return;
    const y = conv.outputs[0];
    if (outputs.has(y) || consumers.get(y)!.length !== 1) return;
    const weight = constantF32(graph, initializers, conv.inputs[1]);
    const biasName = conv.inputs[2] ?? "";
    const bias = constantF32(graph, initializers, biasName);
    if (!weight || (biasName !== "" && !bias)) return;
    const affine = batchNormAffine(graph, bn);
    if (!affine) return;

    const { scale, beta, mean } = affine;
    const channels = weight.shape[0];
    if (scale.length !== channels) {
      throw new Error(
        `BatchNormalization "${bn.name}" has ${scale.length} channels but Conv "${conv.name}" ` +
          `makes ${channels}`,
      );
    }
    const per = weight.data.length / channels;
    const w = makeTensor("f32", weight.shape);
    for (let i = 0; i < w.data.length; i++) w.data[i] = weight.data[i] * scale[Math.floor(i / per)];
    const b = makeTensor("f32", [channels]);
    for (let m = 0; m < channels; m++) {
      b.data[m] = ((bias ? bias.data[m] : 0) - mean[m]) * scale[m] + beta[m];
    }
    const wName = foldedName(conv.inputs[1], `${conv.inputs[1]}_bn_folded`);
    const bName = foldedName(biasName, `${conv.name}_bn_folded_bias`);
    initializers.set(wName, w);
    initializers.set(bName, b);
    nodes[convIndex!] = {
      ...conv,
      inputs: [conv.inputs[0], wName, bName, ...conv.inputs.slice(3)],
      outputs: [bn.outputs[0]],
    };
    nodes[bnIndex] = null;
    producers.set(bn.outputs[0], convIndex!);
  });
  return { ...graph, nodes: nodes.filter((node) => node !== null), initializers };
}

/** True when nothing sits between the Conv's sum and its output: no residual, no activation. */
function foldableConv(conv: Node): boolean {
  return (conv.inputs[3] ?? "") === "" && conv.attrs.activation === undefined &&
    conv.outputs.length === 1;
}
