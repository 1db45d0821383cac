import assert from "node:assert/strict";
import type { Attributes, Node, TensorType } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { flatten } from "./flatten.ts";

function flattenNode(axis?: number): Node {
  const attrs: Attributes = axis === undefined ? {} : { axis };
  return { name: "fl0", op: "Flatten", inputs: ["x"], outputs: ["y"], attrs };
}

const x: TensorType = { dtype: "f32", shape: [2, 3, 4, 5] };
const shapeOf = (axis?: number) => flatten.inferTypes(flattenNode(axis), [x])[0].shape;

Deno.test("Flatten splits the dims before and after axis", () => {
  assert.deepEqual(shapeOf(), [2, 60]);
  assert.deepEqual(shapeOf(0), [1, 120]);
  assert.deepEqual(shapeOf(3), [24, 5]);
  assert.deepEqual(shapeOf(4), [120, 1]);
  assert.deepEqual(shapeOf(-1), [24, 5]);
  assert.deepEqual(shapeOf(-4), [1, 120]);
});

Deno.test("Flatten rejects axes outside [-rank, rank]", () => {
  assert.throws(
    () => shapeOf(5),
    /Flatten "fl0": axis 5 is out of range for rank 4 \(valid: -4 to 4\)/,
  );
  assert.throws(() => shapeOf(-5), /axis -5 is out of range/);
});

Deno.test("Flatten reference keeps the data in order", () => {
  const t = randomTensor(seededRandom(12), "f32", [1, 7, 2, 2]);
  const [y] = flatten.reference(flattenNode(), [t]);
  assert.deepEqual(y.shape, [1, 28]);
  assert.deepEqual(y.data, t.data);
  assert.equal(flatten.view, true);
});
