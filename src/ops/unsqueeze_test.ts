import assert from "node:assert/strict";
import type { Attributes, Node, TensorType } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { unsqueeze } from "./unsqueeze.ts";

function unsqueezeNode(axes?: number[]): Node {
  const attrs: Attributes = axes === undefined ? {} : { axes };
  return { name: "us0", op: "Unsqueeze", inputs: ["x"], outputs: ["y"], attrs };
}

const x: TensorType = { dtype: "f32", shape: [3, 5] };
const shapeOf = (axes?: number[]) => unsqueeze.inferTypes(unsqueezeNode(axes), [x])[0].shape;

Deno.test("Unsqueeze inserts size-1 dims at output positions", () => {
  assert.deepEqual(shapeOf([0]), [1, 3, 5]);
  assert.deepEqual(shapeOf([2]), [3, 5, 1]);
  assert.deepEqual(shapeOf([-1]), [3, 5, 1]);
  assert.deepEqual(shapeOf([3, 0]), [1, 3, 5, 1]);
  assert.deepEqual(shapeOf([1, 2]), [3, 1, 1, 5]);
});

Deno.test("Unsqueeze rejects missing, repeated and out-of-range axes", () => {
  assert.throws(() => shapeOf(), /Unsqueeze "us0": required attribute axes is missing/);
  assert.throws(() => shapeOf([1, -3]), /axes \[1,-3\] repeat an axis/);
  assert.throws(() => shapeOf([3]), /axes\[0\] 3 is out of range for rank 3/);
});

Deno.test("Unsqueeze reference keeps the data", () => {
  const t = randomTensor(seededRandom(14), "f32", [7]);
  const [y] = unsqueeze.reference(unsqueezeNode([0, 2]), [t]);
  assert.deepEqual(y.shape, [1, 7, 1]);
  assert.deepEqual(y.data, t.data);
  assert.equal(unsqueeze.view, true);
});
