import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { runOrtNode } from "./_int8_testing.ts";
import { QGEMM_CASES, QGEMM_NAMES, qgemmNode, qgemmOperands } from "./_qgemm_cases.ts";
import { qgemm } from "./qgemm.ts";

Deno.test("QGemm reference equals onnxruntime", async () => {
  for (const [i, c] of QGEMM_CASES.entries()) {
    const node = qgemmNode(c);
    const operands = qgemmOperands(c, i + 1).slice(0, node.inputs.length);
    const [expected] = await runOrtNode({
      op: "QGemm",
      domain: "com.microsoft",
      inputs: operands.map((tensor, j) => ({ name: QGEMM_NAMES[j], tensor, runtime: j === 0 })),
      outputs: [c.quantized ? c.a : "f32"],
      attrs: {
        transB: c.transB ? 1 : 0,
        ...(c.alpha !== undefined && { alpha: { float: c.alpha } }),
      },
    });
    const [actual] = qgemm.reference(node, operands);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `QGemm ${c.name}`);
  }
});
