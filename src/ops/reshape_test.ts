import assert from "node:assert/strict";
import type { Attributes, Node, TensorType } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { reshape } from "./reshape.ts";

function reshapeNode(attrs: Attributes): Node {
  return { name: "rs0", op: "Reshape", inputs: ["x"], outputs: ["y"], attrs };
}

const x: TensorType = { dtype: "f32", shape: [2, 3, 4] };
const QUANT = { scale: [0.5], zeroPoint: [3] };
const shapeOf = (shape: number[]) => reshape.inferTypes(reshapeNode({ shape }), [x])[0].shape;

Deno.test("Reshape resolves 0 (copy the input dim) and -1 (infer)", () => {
  assert.deepEqual(shapeOf([0, -1]), [2, 12]);
  assert.deepEqual(shapeOf([-1, 0, 2]), [4, 3, 2]);
  assert.deepEqual(shapeOf([24]), [24]);
  assert.deepEqual(shapeOf([1, 2, 1, 12]), [1, 2, 1, 12]);
});

Deno.test("Reshape with allowzero keeps 0 as a literal size", () => {
  const empty: TensorType = { dtype: "f32", shape: [0, 3, 4] };
  const node = reshapeNode({ shape: [3, 4, 0], allowzero: 1 });
  assert.deepEqual(reshape.inferTypes(node, [empty])[0].shape, [3, 4, 0]);
  assert.throws(
    () => reshape.inferTypes(reshapeNode({ shape: [0], allowzero: 2 }), [x]),
    /Reshape "rs0": allowzero must be 0 or 1, got 2/,
  );
});

Deno.test("Reshape rejects impossible targets, quoting them", () => {
  assert.throws(() => shapeOf([5, -1]), /Reshape "rs0": shape \[5,-1\] leaves no whole size/);
  assert.throws(() => shapeOf([-1, -1]), /shape \[-1,-1\] has more than one -1/);
  assert.throws(() => shapeOf([2, -2, 6]), /shape \[2,-2,6\] has the invalid dim -2/);
  assert.throws(() => shapeOf([0, 0, 0, 0]), /copies dim 3 \(0\), which the input lacks/);
  assert.throws(
    () => shapeOf([5, 5]),
    /output shape \[5,5\] does not hold the 24 elements of input shape \[2,3,4\]/,
  );
  assert.throws(
    () => reshape.inferTypes(reshapeNode({}), [x]),
    /required attribute shape is missing/,
  );
});

Deno.test("Reshape is a view whose reference keeps the data, dtype and quantization", () => {
  assert.equal(reshape.view, true);
  assert.equal(reshape.gpu, undefined);
  const q = { ...randomTensor(seededRandom(9), "i8", [2, 6], -128, 128), quant: QUANT };
  const [y] = reshape.reference(reshapeNode({ shape: [3, -1] }), [q]);
  assert.deepEqual(y, { dtype: "i8", shape: [3, 4], data: q.data, quant: QUANT });
  assert.notEqual(y.data, q.data);
});
