import { deepStrictEqual } from "node:assert/strict";
import { randomTensor, seededRandom } from "../../testing/random.ts";
import { assertClose, TOLERANCES } from "../../testing/tolerance.ts";
import { graphOf, node, outputError, snapshot } from "./_testing.ts";
import { constantFold } from "./constant_fold.ts";
import { removeUnused } from "./remove_unused.ts";

Deno.test("constantFold evaluates constant chains into initializers", () => {
  const rand = seededRandom(11);
  const a = randomTensor(rand, "f32", [4]);
  const b = randomTensor(rand, "f32", [4]);
  const graph = graphOf(
    [
      node("Add", "fold1", ["a", "b"], ["ab"]),
      node("Relu", "fold2", ["ab"], ["r"]),
      node("Add", "live", ["x", "r"], ["y"]),
      node("Relu", "to_output", ["a"], ["z"]),
    ],
    [["x", [4]]],
    [["y", [4]], ["z", [4]]],
    { a, b },
  );
  const before = snapshot(graph);
  const folded = constantFold(graph);
  deepStrictEqual(folded.nodes.map((n) => n.name), ["live", "to_output"]);
  const expected = Array.from(a.data, (v, i) => Math.max(Math.fround(v + b.data[i]), 0));
  assertClose(folded.initializers.get("r")!.data, expected, TOLERANCES.exact, "folded r");
  deepStrictEqual([...removeUnused(folded).initializers.keys()].sort(), ["a", "r"]);
  const x = randomTensor(rand, "f32", [4]);
  deepStrictEqual(outputError(graph, folded, { x }), 0);
  deepStrictEqual(snapshot(graph), before, "the input graph must not change");
});

Deno.test("constantFold leaves nodes reading a graph input that shadows an initializer", () => {
  const graph = graphOf(
    [node("Relu", "r", ["a"], ["y"])],
    [["a", [2]]],
    [["y", [2]]],
    { a: randomTensor(seededRandom(12), "f32", [2]) },
  );
  deepStrictEqual(constantFold(graph).nodes, graph.nodes);
});
