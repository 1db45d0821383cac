/**
 * Load-time fusion of pre-activation BatchNormalization (and ReLU) into the Convs that read
 * it, as the Conv's `pre_scale`/`pre_shift` inputs.
 *
 * @module
 */

import {
  type BatchNormAffine,
  batchNormAffine,
  consumersOf,
  freshName,
  graphOutputNames,
  type Use,
  valueNames,
} from "../graph_utils.ts";
import { type Graph, makeTensor, type Node, type Tensor } from "../types.ts";

/** Conv input slots of the pre-activation operands (docs/ARCHITECTURE.md, "Fused ops"). */
const PRE_SCALE = 4;
const PRE_SHIFT = 5;

/**
 * Fuses BatchNormalization -> Relu -> Conv (pre_activation "bn_relu") and
 * BatchNormalization -> Conv (pre_activation "bn", e.g. ResNet v2's BN on `data`) into every
 * Conv that reads the BN or Relu output as its input X and has no pre-activation yet: the
 * Conv reads the BN's input instead, with pre_scale = gamma / sqrt(var + eps) and
 * pre_shift = beta - mean * pre_scale per input channel (float64, then rounded to f32 once).
 * One activated tensor may feed several Convs (ResNet v2's block conv and projection conv);
 * the BN and Relu stay while any other reader (or a graph output) still needs them.
 *
 * Exact in real arithmetic, padding included: the Conv applies the pre-activation to
 * in-bounds input elements only and pads with 0, just as the unfused graph pads the
 * activated tensor. (That is why this cannot be a weight fold: folding BN into a padded
 * conv's weights would shift the padded border too.) Rounding: x * pre_scale + pre_shift
 * in f32 instead of the BN op's own formula. The BN's parameters are left for `removeUnused`.
 *
 * @example
 * ```ts
 * const fused = removeUnused(fusePreActivation(graph));
 * ```
 */
export function fusePreActivation(graph: Graph): Graph {
  const consumers = consumersOf(graph);
  const outputs = graphOutputNames(graph);
  const taken = valueNames(graph);
  const initializers = new Map(graph.initializers);
  const nodes: (Node | null)[] = [...graph.nodes];

  /** Number of uses of `name` left, or Infinity for a graph output (it must stay produced). */
  const remaining = new Map<string, number>();
  const usesLeft = (name: string) =>
    remaining.get(name) ?? (outputs.has(name) ? Infinity : consumers.get(name)?.length ?? 0);
  const dropUse = (name: string) => remaining.set(name, usesLeft(name) - 1);

  graph.nodes.forEach((bn, bnIndex) => {
    const affine = bn.op === "BatchNormalization" ? batchNormAffine(graph, bn) : undefined;
    if (!affine) return;
    const x = bn.inputs[0];
    const activated = bn.outputs[0];
    let pre: [string, string] | undefined;
    /** Rewrites each Conv among `uses` to read `x` with pre-activation `kind`. */
    const fuseInto = (uses: Use[], value: string, kind: "bn" | "bn_relu") => {
      for (const use of uses) {
        const conv = nodes[use.node]!;
        if (!acceptsPreActivation(conv, use.input)) continue;
        pre ??= preActivationConstants(bn, affine, initializers, taken);
        const inputs = [...conv.inputs];
        while (inputs.length <= PRE_SHIFT) inputs.push("");
        inputs[0] = x;
        [inputs[PRE_SCALE], inputs[PRE_SHIFT]] = pre;
        nodes[use.node] = { ...conv, inputs, attrs: { ...conv.attrs, pre_activation: kind } };
        dropUse(value);
      }
    };
    const uses = consumers.get(activated) ?? [];
    fuseInto(uses, activated, "bn");
    for (const use of uses) {
      const relu = graph.nodes[use.node];
      if (relu.op !== "Relu") continue;
      const reluOut = relu.outputs[0];
      fuseInto(consumers.get(reluOut) ?? [], reluOut, "bn_relu");
      if (usesLeft(reluOut) === 0) {
        nodes[use.node] = null;
        dropUse(activated);
      }
    }
    if (usesLeft(activated) === 0) nodes[bnIndex] = null;
  });
  return { ...graph, nodes: nodes.filter((node) => node !== null), initializers };
}

/** True when `node` is a Conv reading the value as X (slot 0) without a pre-activation. */
function acceptsPreActivation(node: Node, slot: number): boolean {
  return node.op === "Conv" && slot === 0 && node.attrs.pre_activation === undefined;
}

/** Adds the f32 pre_scale and pre_shift of `bn` as fresh initializers; returns their names. */
function preActivationConstants(
  bn: Node,
  { scale, beta, mean }: BatchNormAffine,
  initializers: Map<string, Tensor>,
  taken: Set<string>,
): [string, string] {
  const channels = scale.length;
  const preScale = makeTensor("f32", [channels], scale);
  const preShift = makeTensor("f32", [channels]);
  for (let c = 0; c < channels; c++) preShift.data[c] = beta[c] - mean[c] * scale[c];
  const names: [string, string] = [
    freshName(`${bn.name}_pre_scale`, taken),
    freshName(`${bn.name}_pre_shift`, taken),
  ];
  initializers.set(names[0], preScale);
  initializers.set(names[1], preShift);
  return names;
}
