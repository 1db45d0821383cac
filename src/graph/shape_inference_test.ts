import assert from "node:assert/strict";
import { checkInputTensors, inferGraphTypes, InputMismatchError } from "./shape_inference.ts";
import { type Graph, makeTensor } from "./types.ts";

/** x [N, 3, 5] -> Relu -> Add(bias [5]) -> y; a second input z [N, K] passes through Relu. */
function graph(): Graph {
  return {
    name: "small",
    inputs: [
      { name: "x", dtype: "f32", shape: ["batch_size", 3, 5] },
      { name: "z", dtype: "f32", shape: ["batch_size", "K"] },
    ],
    outputs: [
      { name: "y", dtype: "f32", shape: ["batch_size", 3, 5] },
      { name: "w", dtype: "f32", shape: ["M", "K"] },
    ],
    initializers: new Map([["bias", makeTensor("f32", [5], [1, 2, 3, 4, 5])]]),
    nodes: [
      { name: "relu", op: "Relu", inputs: ["x"], outputs: ["r"], attrs: {} },
      { name: "add", op: "Add", inputs: ["r", "bias"], outputs: ["y"], attrs: {} },
      { name: "relu_z", op: "Relu", inputs: ["z"], outputs: ["w"], attrs: {} },
    ],
  };
}

Deno.test("inferGraphTypes binds the batch symbol and explicit shapes", () => {
  const types = inferGraphTypes(graph(), { batch: 4, shapes: { z: [4, 7] } });
  assert.deepEqual(types.get("x")!.shape, [4, 3, 5]);
  assert.deepEqual(types.get("r")!.shape, [4, 3, 5]);
  assert.deepEqual(types.get("y")!.shape, [4, 3, 5]);
  assert.deepEqual(types.get("w")!.shape, [4, 7]);
  assert.deepEqual(types.get("bias"), { dtype: "f32", shape: [5] });
});

Deno.test("inferGraphTypes explains unbound and conflicting symbols", () => {
  assert.throws(
    () => inferGraphTypes(graph(), { batch: 2 }),
    /Dimension "K" \(axis 1\) of input "z" is unbound; pass an explicit shape for "z"/,
  );
  const xOnly = graph();
  xOnly.inputs.pop();
  xOnly.outputs.pop();
  xOnly.nodes.pop();
  assert.throws(
    () => inferGraphTypes(xOnly, {}),
    /Dimension "batch_size" \(axis 0\) of input "x" is unbound; pass a batch size/,
  );
  assert.deepEqual(inferGraphTypes(graph(), { shapes: { z: [2, 7] } }).get("y")!.shape, [2, 3, 5]);
  assert.throws(
    () => inferGraphTypes(graph(), { batch: 3, shapes: { z: [2, 7] } }),
    /"batch_size" of input "x" gets 3 from batch 3 but is already bound to 2/,
  );
  assert.throws(
    () => inferGraphTypes(graph(), { batch: 0, shapes: { z: [1, 7] } }),
    /Batch size must be a positive integer, got 0/,
  );
  assert.throws(
    () => inferGraphTypes(graph(), { batch: 1, shapes: { q: [1] } }),
    /A shape is given for "q", which is not a graph input/,
  );
});

Deno.test("inferGraphTypes rejects a batch that a fixed-batch model cannot take", () => {
  const g = graph();
  g.inputs[0].shape = [1, 3, 5];
  assert.throws(
    () => inferGraphTypes(g, { batch: 2, shapes: { z: [2, 7] } }),
    /Input "x" has a fixed batch of 1 \(shape \[1,3,5\]\); batch 2 cannot be used/,
  );
});

Deno.test("inferGraphTypes checks declared output shapes", () => {
  const g = graph();
  g.outputs[0].shape = [1, 3, 5];
  assert.deepEqual(inferGraphTypes(g, { batch: 1, shapes: { z: [1, 2] } }).get("y")!.shape, [
    1,
    3,
    5,
  ]);
  assert.throws(
    () => inferGraphTypes(g, { batch: 2, shapes: { z: [2, 2] } }),
    /Graph output "y" is declared f32 \[1,3,5\] but infers f32 \[2,3,5\]/,
  );
});

Deno.test("inferGraphTypes rejects nodes out of order, unknown values and duplicates", () => {
  const bindings = { batch: 1, shapes: { z: [1, 2] } };
  const reversed = graph();
  reversed.nodes.reverse();
  assert.throws(
    () => inferGraphTypes(reversed, bindings),
    /Node "add" uses "r" before it is produced; nodes must be in topological order/,
  );
  const unknown = graph();
  unknown.nodes[1].inputs[1] = "nope";
  assert.throws(() => inferGraphTypes(unknown, bindings), /Node "add" uses "nope", which no node/);
  const twice = graph();
  twice.nodes[2].outputs[0] = "r";
  assert.throws(
    () => inferGraphTypes(twice, bindings),
    /Node "relu_z" produces "r", which is already produced by node "relu"/,
  );
  const sameName = graph();
  sameName.nodes[2].name = "relu";
  assert.throws(() => inferGraphTypes(sameName, bindings), /Two nodes are named "relu"/);
});

Deno.test("checkInputTensors names the offending input", () => {
  const g = graph();
  const types = inferGraphTypes(g, { batch: 2, shapes: { z: [2, 3] } });
  const x = makeTensor("f32", [2, 3, 5]);
  const z = makeTensor("f32", [2, 3]);
  checkInputTensors(g, types, { x, z });
  const cases: [Record<string, ReturnType<typeof makeTensor>>, RegExp][] = [
    [{ x }, /Missing input "z" \(f32 \[2,3\]\)/],
    [{ x, z, extra: z }, /Unknown input "extra"; the model's inputs are: x, z/],
    [{ x: makeTensor("f32", [1, 3, 5]), z }, /Input "x" is f32 \[1,3,5\], expected f32 \[2,3,5\]/],
    [{ x: makeTensor("i32", [2, 3, 5]), z }, /Input "x" is i32 \[2,3,5\], expected f32/],
    [
      { x: { ...x, data: new Float32Array(7) }, z },
      /Input "x" has 7 elements in a Float32Array, expected 30 in a Float32Array/,
    ],
  ];
  for (const [inputs, message] of cases) {
    assert.throws(() => checkInputTensors(g, types, inputs), (err: Error) => {
      assert.ok(err instanceof InputMismatchError);
      assert.match(err.message, message);
      return true;
    });
  }
});
