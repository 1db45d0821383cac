import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import type { Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { QADD_CASES, QADD_NAMES, qaddOperands } from "./_qadd_cases.ts";
import { qlinearAdd } from "./qlinear_add.ts";
import { qlinearAddLut, qlinearAddTable } from "./qlinear_add_lut.ts";

/** A case as a QLinearAddLut node and its inputs, with QLinearAdd's result. */
function lowered(i: number) {
  const c = QADD_CASES[i];
  const operands = qaddOperands(c, i + 1);
  const add: Node = {
    name: c.name,
    op: "QLinearAdd",
    inputs: QADD_NAMES,
    outputs: ["y"],
    attrs: {},
  };
  const [expected] = qlinearAdd.reference(add, operands);
  const table = qlinearAddTable(operands, { a: operands[0].shape, b: operands[3].shape });
  const node: Node = {
    name: `${c.name} lut`,
    op: "QLinearAddLut",
    inputs: ["a", "b", "t"],
    outputs: ["y"],
    attrs: {},
  };
  return { c, node, inputs: [operands[0], operands[3], table], expected };
}

Deno.test("QLinearAddLut with qlinearAddTable equals QLinearAdd on every case", () => {
  for (let i = 0; i < QADD_CASES.length; i++) {
    const { c, node, inputs, expected } = lowered(i);
    const [actual] = qlinearAddLut.reference(node, inputs);
    assertClose(actual.data, expected.data, TOLERANCES.exact, c.name);
  }
});

gpuTest("QLinearAddLut GPU kernel matches the reference", async ({ gpu, cache }) => {
  for (let i = 0; i < QADD_CASES.length; i++) {
    const { c, node, inputs } = lowered(i);
    const [actual] = await runNodeOnGpu(gpu, node, inputs, cache);
    const [expected] = qlinearAddLut.reference(node, inputs);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `GPU ${c.name}`);
  }
});
