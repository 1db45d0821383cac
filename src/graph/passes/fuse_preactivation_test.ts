import { deepStrictEqual, ok } from "node:assert/strict";
import { randomTensor, seededRandom } from "../../testing/random.ts";
import { checkNodeOrder } from "../shape_inference.ts";
import { type Graph, makeTensor } from "../types.ts";
import {
  batchNorm,
  batchNormParams,
  convParams,
  graphOf,
  node,
  opCounts,
  outputError,
  PASS_REL_L2,
  snapshot,
} from "./_testing.ts";
import { fusePreActivation } from "./fuse_preactivation.ts";

const X_SHAPE = [2, 4, 7, 6];
const PAD1 = { kernel_shape: [3, 3], pads: [1, 1, 1, 1] };

/** Runs the pass and checks node order and output equality against the unfused graph. */
function fuseAndCompare(graph: Graph, seed: number): Graph {
  const before = snapshot(graph);
  const fused = fusePreActivation(graph);
  checkNodeOrder(fused);
  const x = randomTensor(seededRandom(seed), "f32", X_SHAPE, -2, 2);
  const error = outputError(graph, fused, { x });
  ok(error <= PASS_REL_L2, `relative L2 ${error}`);
  deepStrictEqual(snapshot(graph), before, "the input graph must not change");
  return fused;
}

Deno.test("fusePreActivation fuses BN -> Relu into a padded 3x3 conv as bn_relu", () => {
  const rand = seededRandom(30);
  const graph = graphOf(
    [
      batchNorm("bn", "x", "t"),
      node("Relu", "relu", ["t"], ["r"]),
      node("Conv", "c", ["r", "c_w", "c_b"], ["y"], PAD1),
    ],
    [["x", X_SHAPE]],
    [["y", [2, 5, 7, 6]]],
    { ...batchNormParams(rand, "bn", 4), ...convParams(rand, "c", 5, 4, 3) },
  );
  const fused = fuseAndCompare(graph, 31);
  deepStrictEqual(opCounts(fused), { Conv: 1 });
  const conv = fused.nodes[0];
  deepStrictEqual(conv.attrs.pre_activation, "bn_relu");
  deepStrictEqual(conv.inputs.slice(0, 4), ["x", "c_w", "c_b", ""]);
  deepStrictEqual(conv.inputs.slice(4).map((n) => fused.initializers.get(n)!.shape), [[4], [4]]);
});

/**
 * The naive alternative, folding BN into the following conv's weights:
 * W'[m,c] = W[m,c] * s[c] and b'[m] = b[m] + sum over c,i,j of W[m,c,i,j] * t[c]. It assumes
 * every tap reads a normalised value, which a padded border does not (it reads 0).
 */
function naiveFold(graph: Graph): Graph {
  const get = (name: string) => graph.initializers.get(name)!.data;
  const [gamma, beta, mean, variance, w, b] = ["gamma", "beta", "mean", "var"].map((p) =>
    get(`bn_${p}`)
  ).concat([get("c_w"), get("c_b")]);
  const s = Array.from(gamma, (g, c) => g / Math.sqrt(variance[c] + 1e-5));
  const t = s.map((sc, c) => beta[c] - mean[c] * sc);
  const [m, c, k] = graph.initializers.get("c_w")!.shape;
  const w2 = makeTensor("f32", [m, c, k, k]);
  const b2 = makeTensor("f32", [m]);
  for (let o = 0; o < m; o++) {
    let shift = b[o];
    for (let i = 0; i < c * k * k; i++) {
      const ci = Math.floor(i / (k * k));
      w2.data[o * c * k * k + i] = w[o * c * k * k + i] * s[ci];
      shift += w[o * c * k * k + i] * t[ci];
    }
    b2.data[o] = shift;
  }
  const conv = graph.nodes[1];
  return {
    ...graph,
    nodes: [{ ...conv, inputs: ["x", "naive_w", "naive_b"] }],
    initializers: new Map([["naive_w", w2], ["naive_b", b2]]),
  };
}

Deno.test("fusePreActivation stays exact on a padded conv where naive BN weight folding fails", () => {
  for (const pads of [[0, 0, 0, 0], [1, 1, 1, 1]]) {
    const rand = seededRandom(32);
    const out = pads[0] === 0 ? [2, 5, 5, 4] : [2, 5, 7, 6];
    const graph = graphOf(
      [batchNorm("bn", "x", "t"), node("Conv", "c", ["t", "c_w", "c_b"], ["y"], { pads })],
      [["x", X_SHAPE]],
      [["y", out]],
      { ...batchNormParams(rand, "bn", 4), ...convParams(rand, "c", 5, 4, 3) },
    );
    const fused = fuseAndCompare(graph, 33);
    deepStrictEqual(fused.nodes.map((n) => n.attrs.pre_activation), ["bn"]);
    const x = randomTensor(seededRandom(33), "f32", X_SHAPE, -2, 2);
    const naiveError = outputError(graph, naiveFold(graph), { x });
    if (pads[0] === 0) ok(naiveError <= PASS_REL_L2, `unpadded naive fold: ${naiveError}`);
    else ok(naiveError > 1e-2, `padded naive fold should be visibly wrong: ${naiveError}`);
  }
});

Deno.test("fusePreActivation fuses BN on the data input into a 7x7 stride-2 conv as bn", () => {
  const rand = seededRandom(34);
  const graph = graphOf(
    [
      batchNorm("bn", "x", "t"),
      node("Conv", "c", ["t", "c_w", ""], ["y"], { strides: [2, 2], pads: [3, 3, 3, 3] }),
    ],
    [["x", X_SHAPE]],
    [["y", [2, 3, 4, 3]]],
    { ...batchNormParams(rand, "bn", 4), c_w: randomTensor(rand, "f32", [3, 4, 7, 7]) },
  );
  const fused = fuseAndCompare(graph, 35);
  deepStrictEqual(opCounts(fused), { Conv: 1 });
  deepStrictEqual(fused.nodes[0].attrs.pre_activation, "bn");
});

Deno.test("fusePreActivation fuses an activated tensor into every conv reading it", () => {
  const rand = seededRandom(36);
  const graph = graphOf(
    [
      batchNorm("bn", "x", "t"),
      node("Relu", "relu", ["t"], ["r"]),
      node("Conv", "body", ["r", "body_w", "body_b"], ["body_out"], { ...PAD1, strides: [2, 2] }),
      node("Conv", "proj", ["r", "proj_w", ""], ["proj_out"], { strides: [2, 2] }),
      node("Add", "add", ["body_out", "proj_out"], ["y"]),
    ],
    [["x", X_SHAPE]],
    [["y", [2, 6, 4, 3]]],
    {
      ...batchNormParams(rand, "bn", 4),
      ...convParams(rand, "body", 6, 4, 3),
      proj_w: randomTensor(rand, "f32", [6, 4, 1, 1]),
    },
  );
  const fused = fuseAndCompare(graph, 37);
  deepStrictEqual(opCounts(fused), { Conv: 2, Add: 1 });
  const convs = fused.nodes.filter((n) => n.op === "Conv");
  deepStrictEqual(convs.map((n) => n.attrs.pre_activation), ["bn_relu", "bn_relu"]);
  deepStrictEqual(convs[0].inputs.slice(4), convs[1].inputs.slice(4), "one pre_scale/shift pair");
});

Deno.test("fusePreActivation keeps BN and Relu for readers that are not convs", () => {
  const rand = seededRandom(38);
  const params = { ...batchNormParams(rand, "bn", 4), ...convParams(rand, "c", 4, 4, 3) };
  const conv = node("Conv", "c", ["r", "c_w", "c_b"], ["c_out"], PAD1);
  // The Relu output also feeds an Add: BN and Relu stay for it.
  const reluShared = graphOf(
    [
      batchNorm("bn", "x", "t"),
      node("Relu", "relu", ["t"], ["r"]),
      conv,
      node("Add", "add", ["c_out", "r"], ["y"]),
    ],
    [["x", X_SHAPE]],
    [["y", X_SHAPE]],
    params,
  );
  const fused1 = fuseAndCompare(reluShared, 39);
  deepStrictEqual(opCounts(fused1), { BatchNormalization: 1, Relu: 1, Conv: 1, Add: 1 });
  deepStrictEqual(fused1.nodes[2].attrs.pre_activation, "bn_relu");
  // The BN output itself feeds an Add: the Relu goes, the BN stays.
  const bnShared = graphOf(
    [
      batchNorm("bn", "x", "t"),
      node("Relu", "relu", ["t"], ["r"]),
      conv,
      node("Add", "add", ["c_out", "t"], ["y"]),
    ],
    [["x", X_SHAPE]],
    [["y", X_SHAPE]],
    params,
  );
  const fused2 = fuseAndCompare(bnShared, 40);
  deepStrictEqual(opCounts(fused2), { BatchNormalization: 1, Conv: 1, Add: 1 });
});

Deno.test("fusePreActivation keeps a BN -> Relu output that is a graph output", () => {
  const rand = seededRandom(41);
  const graph = graphOf(
    [
      batchNorm("bn", "x", "t"),
      node("Relu", "relu", ["t"], ["r"]),
      node("Conv", "c", ["r", "c_w", "c_b"], ["y"], PAD1),
    ],
    [["x", X_SHAPE]],
    [["r", X_SHAPE], ["y", [2, 5, 7, 6]]],
    { ...batchNormParams(rand, "bn", 4), ...convParams(rand, "c", 5, 4, 3) },
  );
  const fused = fuseAndCompare(graph, 42);
  deepStrictEqual(opCounts(fused), { BatchNormalization: 1, Relu: 1, Conv: 1 });
  deepStrictEqual(fused.nodes[2].inputs[0], "x");
});

Deno.test("fusePreActivation does not fuse into a conv that has a pre-activation", () => {
  const rand = seededRandom(43);
  const graph = graphOf(
    [
      batchNorm("bn", "x", "t"),
      node("Conv", "c", ["t", "c_w", "c_b", "", "p_scale", "p_shift"], ["y"], {
        ...PAD1,
        pre_activation: "bn_relu",
      }),
    ],
    [["x", X_SHAPE]],
    [["y", [2, 5, 7, 6]]],
    {
      ...batchNormParams(rand, "bn", 4),
      ...convParams(rand, "c", 5, 4, 3),
      p_scale: randomTensor(rand, "f32", [4]),
      p_shift: randomTensor(rand, "f32", [4]),
    },
  );
  deepStrictEqual(fuseAndCompare(graph, 44).nodes, graph.nodes);
});
