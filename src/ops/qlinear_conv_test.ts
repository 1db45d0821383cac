import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { runOrtNode } from "./_int8_testing.ts";
import { QCONV_CASES, qconvNode, qconvOperands } from "./_qconv_cases.ts";
import { qlinearConv } from "./qlinear_conv.ts";

Deno.test("QLinearConv reference equals onnxruntime on every case", async () => {
  for (const [i, c] of QCONV_CASES.entries()) {
    const operands = qconvOperands(c, i + 1);
    const node = qconvNode(c);
    const present = operands.slice(0, node.inputs.length);
    const [expected] = await runOrtNode({
      op: "QLinearConv",
      inputs: present.map((tensor, k) => ({ name: node.inputs[k], tensor, runtime: k === 0 })),
      outputs: [c.x],
      attrs: node.attrs as Record<string, number | number[]>,
    });
    const [actual] = qlinearConv.reference(node, present);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `QLinearConv ${c.name}`);
  }
});
