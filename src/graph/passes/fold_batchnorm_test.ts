import { deepStrictEqual, ok } from "node:assert/strict";
import { checkNodeOrder } from "../shape_inference.ts";
import { randomTensor, seededRandom } from "../../testing/random.ts";
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
import { foldBatchNorm } from "./fold_batchnorm.ts";
import { removeUnused } from "./remove_unused.ts";

/** Conv 3x3, stride 2, pads 1: x [2, 4, 7, 6] -> [2, 6, 4, 3]. */
const CONV = { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
const X_SHAPE = [2, 4, 7, 6];
const Y_SHAPE = [2, 6, 4, 3];

for (
  const { group, bias } of [{ group: 1, bias: true }, { group: 1, bias: false }, {
    group: 2,
    bias: true,
  }]
) {
  Deno.test(`foldBatchNorm folds Conv -> BN (group ${group}, bias ${bias})`, () => {
    const rand = seededRandom(20 + group + (bias ? 1 : 0));
    const graph = graphOf(
      [
        node("Conv", "c", ["x", "c_w", bias ? "c_b" : ""], ["c_out"], { ...CONV, group }),
        batchNorm("bn", "c_out", "bn_out"),
        node("Relu", "relu", ["bn_out"], ["y"]),
      ],
      [["x", X_SHAPE]],
      [["y", Y_SHAPE]],
      { ...convParams(rand, "c", 6, 4 / group, 3), ...batchNormParams(rand, "bn", 6) },
    );
    const before = snapshot(graph);
    const folded = foldBatchNorm(graph);
    deepStrictEqual(opCounts(folded), { Conv: 1, Relu: 1 });
    const conv = folded.nodes[0];
    deepStrictEqual(conv.outputs, ["bn_out"]);
    deepStrictEqual(conv.inputs.slice(0, 2), ["x", "c_w"], "a sole-reader weight keeps its name");
    const pruned = removeUnused(folded);
    deepStrictEqual(
      [...pruned.initializers.keys()].sort(),
      [conv.inputs[1], conv.inputs[2]].sort(),
    );
    const x = randomTensor(rand, "f32", X_SHAPE);
    const error = outputError(graph, folded, { x });
    ok(error <= PASS_REL_L2, `relative L2 ${error}`);
    deepStrictEqual(snapshot(graph), before, "the input graph must not change");
  });
}

Deno.test("foldBatchNorm folds a Conv -> BN -> BN chain into one conv", () => {
  const rand = seededRandom(25);
  const graph = graphOf(
    [
      node("Conv", "c", ["x", "c_w", "c_b"], ["c_out"], CONV),
      batchNorm("bn1", "c_out", "bn1_out"),
      batchNorm("bn2", "bn1_out", "y"),
    ],
    [["x", X_SHAPE]],
    [["y", Y_SHAPE]],
    {
      ...convParams(rand, "c", 6, 4, 3),
      ...batchNormParams(rand, "bn1", 6),
      ...batchNormParams(rand, "bn2", 6),
    },
  );
  const folded = foldBatchNorm(graph);
  deepStrictEqual(opCounts(folded), { Conv: 1 });
  const error = outputError(graph, folded, { x: randomTensor(rand, "f32", X_SHAPE) });
  ok(error <= PASS_REL_L2, `relative L2 ${error}`);
});

Deno.test("foldBatchNorm leaves a conv output with another reader or that is a graph output", () => {
  const rand = seededRandom(26);
  const params = { ...convParams(rand, "c", 6, 4, 3), ...batchNormParams(rand, "bn", 6) };
  const conv = node("Conv", "c", ["x", "c_w", "c_b"], ["c_out"], CONV);
  const bn = batchNorm("bn", "c_out", "bn_out");
  const twoReaders = graphOf(
    [conv, bn, node("Add", "add", ["bn_out", "c_out"], ["y"])],
    [["x", X_SHAPE]],
    [["y", Y_SHAPE]],
    params,
  );
  deepStrictEqual(foldBatchNorm(twoReaders).nodes, twoReaders.nodes);
  const graphOutput = graphOf(
    [conv, bn],
    [["x", X_SHAPE]],
    [["c_out", Y_SHAPE], ["bn_out", Y_SHAPE]],
    params,
  );
  deepStrictEqual(foldBatchNorm(graphOutput).nodes, graphOutput.nodes);
});

Deno.test("foldBatchNorm copies a weight that two convs share under fresh names", () => {
  const rand = seededRandom(27);
  const graph = graphOf(
    [
      node("Conv", "c1", ["x", "w", ""], ["c1_out"], CONV),
      batchNorm("bn1", "c1_out", "bn1_out"),
      node("Conv", "c2", ["x", "w", ""], ["c2_out"], CONV),
      batchNorm("bn2", "c2_out", "bn2_out"),
      node("Add", "add", ["bn1_out", "bn2_out"], ["y"]),
    ],
    [["x", X_SHAPE]],
    [["y", Y_SHAPE]],
    {
      w: randomTensor(rand, "f32", [6, 4, 3, 3], -0.5, 0.5),
      ...batchNormParams(rand, "bn1", 6),
      ...batchNormParams(rand, "bn2", 6),
    },
  );
  const folded = foldBatchNorm(graph);
  checkNodeOrder(folded);
  deepStrictEqual(opCounts(folded), { Conv: 2, Add: 1 });
  const [w1, w2] = folded.nodes.filter((n) => n.op === "Conv").map((n) => n.inputs[1]);
  ok(w1 !== w2 && w1 !== "w" && w2 !== "w", `weights ${w1}, ${w2}`);
  ok(!removeUnused(folded).initializers.has("w"));
  const error = outputError(graph, folded, { x: randomTensor(rand, "f32", X_SHAPE) });
  ok(error <= PASS_REL_L2, `relative L2 ${error}`);
});
