import assert from "node:assert/strict";
import type { Node } from "../graph/types.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { runOrtNode } from "./_int8_testing.ts";
import { QADD_CASES, QADD_NAMES, qaddOperands } from "./_qadd_cases.ts";
import { qlinearAdd, spanIsB } from "./qlinear_add.ts";

Deno.test("QLinearAdd reference equals onnxruntime on every case", async () => {
  for (const [i, c] of QADD_CASES.entries()) {
    const operands = qaddOperands(c, i + 1);
    const node: Node = {
      name: c.name,
      op: "QLinearAdd",
      inputs: QADD_NAMES,
      outputs: ["y"],
      attrs: {},
    };
    const [expected] = await runOrtNode({
      op: "QLinearAdd",
      domain: "com.microsoft",
      inputs: operands.map((tensor, k) => ({
        name: QADD_NAMES[k],
        tensor,
        runtime: k === 0 || k === 3,
      })),
      outputs: [c.dtype],
    });
    const [actual] = qlinearAdd.reference(node, operands);
    assert.deepEqual(actual.shape, expected.shape, c.name);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `QLinearAdd ${c.name}`);
  }
});

Deno.test("QLinearAdd roles follow onnxruntime's broadcaster", () => {
  assert.equal(spanIsB([256, 1], [1]), true);
  assert.equal(spanIsB([256, 1], [1, 1]), false);
  assert.equal(spanIsB([1, 256], [1]), false);
  assert.equal(spanIsB([256], []), false);
  assert.equal(spanIsB([], [256]), true);
  assert.equal(spanIsB([1, 3, 1, 1], [2, 3, 4, 5]), true);
  assert.equal(spanIsB([2, 3, 4, 5], [2, 3, 4, 5]), false);
});
