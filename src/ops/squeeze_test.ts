import assert from "node:assert/strict";
import type { Attributes, Node, TensorType } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { squeeze } from "./squeeze.ts";

function squeezeNode(axes?: number[]): Node {
  const attrs: Attributes = axes === undefined ? {} : { axes };
  return { name: "sq0", op: "Squeeze", inputs: ["x"], outputs: ["y"], attrs };
}

const x: TensorType = { dtype: "f32", shape: [1, 3, 1, 1, 5] };
const shapeOf = (axes?: number[]) => squeeze.inferTypes(squeezeNode(axes), [x])[0].shape;

Deno.test("Squeeze removes the listed size-1 dims, or all of them", () => {
  assert.deepEqual(shapeOf(), [3, 5]);
  assert.deepEqual(shapeOf([0]), [3, 1, 1, 5]);
  assert.deepEqual(shapeOf([2, -2]), [1, 3, 5]);
  assert.deepEqual(shapeOf([]), [1, 3, 1, 1, 5]);
});

Deno.test("Squeeze rejects axes that are not size 1 or out of range", () => {
  assert.throws(
    () => shapeOf([1]),
    /Squeeze "sq0": axis 1 has size 3, not 1 \(input shape \[1,3,1,1,5\]\)/,
  );
  assert.throws(() => shapeOf([5]), /axes\[0\] 5 is out of range for rank 5/);
});

Deno.test("Squeeze reference keeps the data", () => {
  const t = randomTensor(seededRandom(13), "i32", [1, 2048, 1, 1], -9, 9);
  const [y] = squeeze.reference(squeezeNode([2, 3]), [t]);
  assert.deepEqual(y.shape, [1, 2048]);
  assert.deepEqual(y.data, t.data);
  assert.equal(squeeze.view, true);
});
