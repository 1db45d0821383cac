import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import type { Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { qlinearLookup } from "./qlinear_lookup.ts";

const CASES = [
  { dtype: "u8" as const, to: "u8", shape: [2, 3, 5, 7], axis: 1, rows: 3 },
  { dtype: "i8" as const, to: "i8", shape: [1, 4, 3, 8], axis: 3, rows: 8 },
  { dtype: "u8" as const, to: "i8", shape: [13], axis: 0, rows: 1 },
];

function setup(i: number) {
  const c = CASES[i];
  const rand = seededRandom(i + 1);
  const x = randomTensor(rand, c.dtype, c.shape, ...(c.dtype === "u8" ? [0, 256] : [-128, 128]));
  const table = randomTensor(rand, "u8", [c.rows, 256], 0, 256);
  const node: Node = {
    name: `lookup${i}`,
    op: "QLinearLookup",
    inputs: ["x", "t"],
    outputs: ["y"],
    attrs: { axis: c.axis, to: c.to },
  };
  return { c, x, table, node };
}

Deno.test("QLinearLookup maps each byte through its channel's row", () => {
  for (let i = 0; i < CASES.length; i++) {
    const { c, x, table, node } = setup(i);
    const [y] = qlinearLookup.reference(node, [x, table]);
    const inner = c.shape.slice(c.axis + 1).reduce((a, b) => a * b, 1);
    for (let k = 0; k < x.data.length; k++) {
      const row = c.rows === 1 ? 0 : Math.floor(k / inner) % c.rows;
      const byte = table.data[row * 256 + (x.data[k] & 0xff)];
      if ((y.data[k] & 0xff) !== byte) {
        throw new Error(`case ${i} element ${k}: ${y.data[k]} vs byte ${byte}`);
      }
    }
  }
});

gpuTest("QLinearLookup GPU kernel matches the reference", async ({ gpu, cache }) => {
  for (let i = 0; i < CASES.length; i++) {
    const { x, table, node } = setup(i);
    const [actual] = await runNodeOnGpu(gpu, node, [x, table], cache);
    assertClose(
      actual.data,
      qlinearLookup.reference(node, [x, table])[0].data,
      TOLERANCES.exact,
      `GPU case ${i}`,
    );
  }
});
