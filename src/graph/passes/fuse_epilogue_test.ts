import { deepStrictEqual, ok } from "node:assert/strict";
import { randomTensor, seededRandom } from "../../testing/random.ts";
import { checkNodeOrder } from "../shape_inference.ts";
import type { Attributes, Dim, Graph, Node, Tensor } from "../types.ts";
import {
  convParams,
  graphOf,
  node,
  opCounts,
  outputError,
  PASS_REL_L2,
  snapshot,
} from "./_testing.ts";
import { fuseEpilogue } from "./fuse_epilogue.ts";

/** Conv 3x3, pads 1: x [N, 3, 5, 4] -> [N, 4, 5, 4]; `r` is a second input of that shape. */
const X: Dim[] = ["N", 3, 5, 4];
const Y: Dim[] = ["N", 4, 5, 4];
const CONV = node("Conv", "c", ["x", "c_w", "c_b"], ["c_out"], {
  kernel_shape: [3, 3],
  pads: [1, 1, 1, 1],
});

/** A graph reading `x` and `r` (batch N) with the conv's weights plus `extra` constants. */
function graphWith(
  nodes: Node[],
  outputs: [string, Dim[]][],
  extra: Record<string, Tensor> = {},
): Graph {
  const params = convParams(seededRandom(50), "c", 4, 3, 3);
  return graphOf([CONV, ...nodes], [["x", X], ["r", Y]], outputs, { ...params, ...extra });
}

/** Runs the pass and checks node order and output equality at batch 2. */
function fuseAndCompare(graph: Graph): Graph {
  const before = snapshot(graph);
  const fused = fuseEpilogue(graph);
  checkNodeOrder(fused);
  const rand = seededRandom(51);
  const x = randomTensor(rand, "f32", [2, 3, 5, 4]);
  const r = randomTensor(rand, "f32", [2, 4, 5, 4]);
  const error = outputError(graph, fused, { x, r });
  ok(error <= PASS_REL_L2, `relative L2 ${error}`);
  deepStrictEqual(snapshot(graph), before, "the input graph must not change");
  return fused;
}

for (const operands of [["c_out", "r"], ["r", "c_out"]]) {
  Deno.test(`fuseEpilogue fuses Add(${operands}) -> Relu into the conv`, () => {
    const graph = graphWith(
      [node("Add", "add", operands, ["s"]), node("Relu", "relu", ["s"], ["y"])],
      [["y", Y]],
    );
    const fused = fuseAndCompare(graph);
    deepStrictEqual(fused.nodes, [{
      ...CONV,
      inputs: ["x", "c_w", "c_b", "r"],
      outputs: ["y"],
      attrs: { ...CONV.attrs, activation: "relu" },
    }]);
  });
}

Deno.test("fuseEpilogue fuses plain Conv -> Relu and Conv -> Clip", () => {
  const relu = fuseAndCompare(graphWith([node("Relu", "relu", ["c_out"], ["y"])], [["y", Y]]));
  deepStrictEqual(relu.nodes.map((n) => [n.op, n.attrs.activation, n.outputs[0]]), [
    ["Conv", "relu", "y"],
  ]);
  for (const bounds of [{ min: 0, max: 0.5 }, { min: -0.25 }] as Attributes[]) {
    const graph = graphWith([node("Clip", "clip", ["c_out"], ["y"], bounds)], [["y", Y]]);
    const fused = fuseAndCompare(graph);
    deepStrictEqual(opCounts(fused), { Conv: 1 });
    const { activation, clip_min, clip_max } = fused.nodes[0].attrs;
    deepStrictEqual({ activation, clip_min, clip_max }, {
      activation: "clip",
      clip_min: bounds.min,
      clip_max: bounds.max,
    });
  }
});

Deno.test("fuseEpilogue places the fused conv where the Add was, after the residual's producer", () => {
  const rand = seededRandom(52);
  const graph = graphWith(
    [
      node("Conv", "proj", ["x", "proj_w", ""], ["proj_out"]),
      node("Add", "add", ["c_out", "proj_out"], ["s"]),
      node("Relu", "relu", ["s"], ["y"]),
    ],
    [["y", Y]],
    { proj_w: randomTensor(rand, "f32", [4, 3, 1, 1]) },
  );
  const fused = fuseAndCompare(graph);
  deepStrictEqual(fused.nodes.map((n) => [n.name, n.inputs[3] ?? "", n.attrs.activation]), [
    ["proj", "", undefined],
    ["c", "proj_out", "relu"],
  ]);
});

Deno.test("fuseEpilogue leaves Adds that broadcast or add the conv output to itself", () => {
  const rand = seededRandom(53);
  const cases: [string, Dim[], Record<string, Tensor>][] = [
    ["per_channel", Y, { per_channel: randomTensor(rand, "f32", [1, 4, 1, 1]) }],
    ["batch_one", Y, { batch_one: randomTensor(rand, "f32", [1, 4, 5, 4]) }],
    ["c_out", Y, {}],
  ];
  for (const [other, shape, extra] of cases) {
    const graph = graphWith([node("Add", "add", ["c_out", other], ["y"])], [["y", shape]], extra);
    deepStrictEqual(fuseAndCompare(graph).nodes, graph.nodes, `Add with ${other}`);
  }
});

Deno.test("fuseEpilogue fuses a same-shape constant residual when the batch is fixed", () => {
  const rand = seededRandom(54);
  const fixed = graphOf(
    [CONV, node("Add", "add", ["k", "c_out"], ["y"])],
    [["x", [1, 3, 5, 4]]],
    [["y", [1, 4, 5, 4]]],
    { ...convParams(rand, "c", 4, 3, 3), k: randomTensor(rand, "f32", [1, 4, 5, 4]) },
  );
  const fused = fuseEpilogue(fixed);
  deepStrictEqual(fused.nodes.map((n) => n.inputs[3]), ["k"]);
  const error = outputError(fixed, fused, { x: randomTensor(rand, "f32", [1, 3, 5, 4]) });
  ok(error <= PASS_REL_L2, `relative L2 ${error}`);
});

Deno.test("fuseEpilogue never fuses past a graph output", () => {
  const tail = [node("Add", "add", ["c_out", "r"], ["s"]), node("Relu", "relu", ["s"], ["y"])];
  const sumOut = fuseAndCompare(graphWith(tail, [["s", Y], ["y", Y]]));
  deepStrictEqual(sumOut.nodes.map((n) => [n.op, n.outputs[0], n.attrs.activation]), [
    ["Conv", "s", undefined],
    ["Relu", "y", undefined],
  ]);
  const convOut = graphWith(tail, [["c_out", Y], ["y", Y]]);
  deepStrictEqual(fuseAndCompare(convOut).nodes, convOut.nodes);
});
