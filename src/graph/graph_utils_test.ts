import { deepStrictEqual, throws } from "node:assert/strict";
import { batchNormAffine, consumersOf, freshName, producersOf, valueNames } from "./graph_utils.ts";
import { batchNorm, batchNormParams, graphOf, node } from "./passes/_testing.ts";
import { makeTensor, type Tensor } from "./types.ts";
import { seededRandom } from "../testing/random.ts";

const graph = graphOf(
  [
    node("Relu", "a", ["x"], ["a_out"]),
    node("Add", "b", ["a_out", "a_out"], ["b_out"]),
    node("Conv", "c", ["b_out", "w", ""], ["y"]),
  ],
  [["x", [1, 1, 2, 2]]],
  [["y", [1, 1, 2, 2]]],
  { w: makeTensor("f32", [1, 1, 1, 1], [2]) },
);

Deno.test("consumersOf and producersOf index every read and write, skipping absent inputs", () => {
  deepStrictEqual(
    consumersOf(graph),
    new Map([
      ["x", [{ node: 0, input: 0 }]],
      ["a_out", [{ node: 1, input: 0 }, { node: 1, input: 1 }]],
      ["b_out", [{ node: 2, input: 0 }]],
      ["w", [{ node: 2, input: 1 }]],
    ]),
  );
  deepStrictEqual(producersOf(graph), new Map([["a_out", 0], ["b_out", 1], ["y", 2]]));
});

Deno.test("freshName avoids every value name and remembers what it hands out", () => {
  const taken = valueNames(graph);
  deepStrictEqual(freshName("a_out", taken), "a_out_2");
  deepStrictEqual(freshName("a_out", taken), "a_out_3");
  deepStrictEqual(freshName("new", taken), "new");
});

Deno.test("batchNormAffine needs constant parameters and rejects mismatched lengths", () => {
  const params = batchNormParams(seededRandom(70), "bn", 3);
  const bn = batchNorm("bn", "x", "y");
  const withParams = (extra: Record<string, Tensor>) => ({
    ...graph,
    initializers: new Map(Object.entries({ ...params, ...extra })),
  });
  const affine = batchNormAffine(withParams({}), bn)!;
  const [gamma, , , variance] = ["gamma", "beta", "mean", "var"].map((p) => params[`bn_${p}`].data);
  deepStrictEqual(
    Array.from(affine.scale),
    Array.from(gamma, (g, c) => g / Math.sqrt(variance[c] + 1e-5)),
  );
  const runtimeMean = {
    ...withParams({}),
    inputs: [...graph.inputs, { ...graph.inputs[0], name: "bn_mean" }],
  };
  deepStrictEqual(batchNormAffine(runtimeMean, bn), undefined);
  throws(
    () => batchNormAffine(withParams({ bn_var: makeTensor("f32", [2], [1, 1]) }), bn),
    /BatchNormalization "bn" has parameters of lengths 3, 3, 3, 2/,
  );
});
