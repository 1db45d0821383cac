import assert from "node:assert/strict";
import type { Node } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { identity } from "./identity.ts";

const node: Node = { name: "id0", op: "Identity", inputs: ["x"], outputs: ["y"], attrs: {} };

Deno.test("Identity is a view that copies data, shape and quantization", () => {
  assert.equal(identity.view, true);
  const quant = { scale: [0.25], zeroPoint: [128] };
  const x = { ...randomTensor(seededRandom(11), "u8", [1, 3, 5], 0, 256), quant };
  assert.deepEqual(identity.inferTypes(node, [x]), [{ dtype: "u8", shape: [1, 3, 5], quant }]);
  const [y] = identity.reference(node, [x]);
  assert.deepEqual(y, x);
  assert.notEqual(y.data, x.data);
});

Deno.test("Identity needs exactly one input", () => {
  const t = { dtype: "f32" as const, shape: [2] };
  assert.throws(() => identity.inferTypes(node, [t, t]), /Identity "id0": needs 1 inputs, got 2/);
});
