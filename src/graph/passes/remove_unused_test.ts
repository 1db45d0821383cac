import { deepStrictEqual } from "node:assert/strict";
import { makeTensor } from "../types.ts";
import { graphOf, node, snapshot } from "./_testing.ts";
import { removeUnused } from "./remove_unused.ts";

const scalar = (v: number) => makeTensor("f32", [1], [v]);

Deno.test("removeUnused drops dead nodes and initializers, keeps graph outputs and inputs", () => {
  const graph = graphOf(
    [
      node("Relu", "a", ["x"], ["a_out"]),
      node("Add", "dead", ["a_out", "w_dead"], ["dead_out"]),
      node("Relu", "dead2", ["dead_out"], ["dead2_out"]),
      node("Add", "mid", ["a_out", "w_live"], ["mid_out"]),
      node("Relu", "last", ["mid_out"], ["y"]),
    ],
    [["x", [1]], ["unused_input", [1]]],
    [["mid_out", [1]], ["y", [1]]],
    { w_dead: scalar(1), w_live: scalar(2), w_orphan: scalar(3) },
  );
  const before = snapshot(graph);
  const result = removeUnused(graph);
  deepStrictEqual(result.nodes.map((n) => n.name), ["a", "mid", "last"]);
  deepStrictEqual([...result.initializers.keys()], ["w_live"]);
  deepStrictEqual(result.inputs, graph.inputs);
  deepStrictEqual(result.outputs, graph.outputs);
  deepStrictEqual(snapshot(graph), before, "the input graph must not change");
});

Deno.test("removeUnused keeps a node when any one of its outputs is used", () => {
  const graph = graphOf(
    [node("Split", "s", ["x"], ["s0", "s1"], { axis: 0 }), node("Relu", "r", ["s1"], ["y"])],
    [["x", [2]]],
    [["y", [1]]],
    {},
  );
  deepStrictEqual(removeUnused(graph).nodes.map((n) => n.name), ["s", "r"]);
});
