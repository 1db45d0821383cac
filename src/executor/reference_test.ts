import { deepStrictEqual, throws } from "node:assert/strict";
import { graphOf, node } from "../graph/passes/_testing.ts";
import { makeTensor } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { runNode, runReference } from "./reference.ts";

/** y = relu(x + c) with the sum `s` also a graph output; batch symbolic. */
const graph = graphOf(
  [node("Add", "add", ["x", "c"], ["s"]), node("Relu", "relu", ["s"], ["y"])],
  [["x", ["N", 3]]],
  [["s", ["N", 3]], ["y", ["N", 3]]],
  { c: makeTensor("f32", [3], [0.25, -0.5, 1]) },
);

Deno.test("runReference runs nodes in order with initializers and returns every output", () => {
  const x = randomTensor(seededRandom(3), "f32", [2, 3]);
  const out = runReference(graph, { x });
  deepStrictEqual(Object.keys(out), ["s", "y"]);
  const c = [0.25, -0.5, 1];
  const s = Array.from(x.data, (v, i) => Math.fround(v + c[i % 3]));
  assertClose(out.s.data, s, TOLERANCES.exact, "s");
  assertClose(out.y.data, s.map((v) => Math.max(v, 0)), TOLERANCES.exact, "y");
  deepStrictEqual(out.y.shape, [2, 3]);
});

Deno.test("runReference names missing, unknown and mistyped inputs", () => {
  const x = randomTensor(seededRandom(4), "f32", [2, 3]);
  throws(() => runReference(graph, {}), /Missing graph input "x" \(f32 \[N,3\]\)/);
  throws(() => runReference(graph, { x, extra: x }), /"extra", which is not a graph input/);
  throws(() => runReference(graph, { x: makeTensor("i32", [2, 3]) }), /Input "x" is i32/);
  throws(() => runReference(graph, { x: makeTensor("f32", [2, 4]) }), /\[2,4\]/);
});

Deno.test("runReference binds a symbol once across inputs", () => {
  const two = graphOf(
    [node("Add", "add", ["a", "b"], ["y"])],
    [["a", ["N", 3]], ["b", ["N", 3]]],
    [["y", ["N", 3]]],
    {},
  );
  const a = makeTensor("f32", [2, 3]);
  throws(() => runReference(two, { a, b: makeTensor("f32", [1, 3]) }), /already bound to 2/);
});

Deno.test("runReference rejects a graph whose nodes read undefined values", () => {
  const broken = graphOf(
    [node("Relu", "relu", ["nowhere"], ["y"])],
    [["x", [3]]],
    [["y", [3]]],
    {},
  );
  throws(() => runReference(broken, { x: makeTensor("f32", [3]) }), /"relu" uses "nowhere"/);
});

Deno.test("runNode rejects a reference result that disagrees with the expected type", () => {
  const relu = node("Relu", "relu", ["x"], ["y"]);
  const x = makeTensor("f32", [3]);
  throws(
    () => runNode(relu, [x], [{ dtype: "f32", shape: [4] }]),
    /output "y" of node "relu" \(Relu\) f32 \[3\], but inferTypes says f32 \[4\]/,
  );
});
