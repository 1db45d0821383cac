import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import type { Node, Tensor } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { runOrtNode, scalar } from "./_int8_testing.ts";
import { qlinearGlobalAveragePool } from "./qlinear_global_average_pool.ts";

const CASES = [
  { dtype: "u8" as const, shape: [2, 5, 7, 3], last: 0, scales: [0.0186, 0.0191], zps: [114, 3] },
  { dtype: "u8" as const, shape: [1, 3, 7, 7, 6], last: 1, scales: [0.0235, 0.0191], zps: [0, 0] },
  { dtype: "i8" as const, shape: [1, 9, 5, 5], last: 0, scales: [0.05, 0.031], zps: [-7, 20] },
  // Multiplier 0.5 / 4 pixels: many exact ties.
  { dtype: "u8" as const, shape: [1, 2, 2, 33], last: 1, scales: [1, 0.5], zps: [7, 128] },
];

function operands(c: typeof CASES[number], seed: number): Tensor[] {
  const x = randomTensor(
    seededRandom(seed),
    c.dtype,
    c.shape,
    ...(c.dtype === "u8" ? [0, 256] : [-128, 128]),
  );
  return [
    x,
    scalar("f32", c.scales[0]),
    scalar(c.dtype, c.zps[0]),
    scalar("f32", c.scales[1]),
    scalar(c.dtype, c.zps[1]),
  ];
}

const NAMES = ["x", "xs", "xz", "ys", "yz"];

Deno.test("QLinearGlobalAveragePool reference equals onnxruntime (NCHW and NHWC)", async () => {
  for (const [i, c] of CASES.entries()) {
    const inputs = operands(c, i + 1);
    const node: Node = {
      name: `gap${i}`,
      op: "QLinearGlobalAveragePool",
      inputs: NAMES,
      outputs: ["y"],
      attrs: { channels_last: c.last },
    };
    const [expected] = await runOrtNode({
      op: "QLinearGlobalAveragePool",
      domain: "com.microsoft",
      inputs: inputs.map((tensor, k) => ({ name: NAMES[k], tensor, runtime: k === 0 })),
      outputs: [c.dtype],
      attrs: { channels_last: c.last },
    });
    const [actual] = qlinearGlobalAveragePool.reference(node, inputs);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `QLinearGlobalAveragePool case ${i}`);
  }
});

gpuTest("QLinearGlobalAveragePool GPU kernel matches the reference", async ({ gpu, cache }) => {
  for (const [i, c] of CASES.entries()) {
    const [x] = operands(c, 10 + i);
    const node: Node = {
      name: `gap${i}`,
      op: "QLinearGlobalAveragePool",
      inputs: ["x"],
      outputs: ["y"],
      attrs: {
        channels_last: c.last,
        x_scale: c.scales[0],
        x_zero_point: c.zps[0],
        y_scale: c.scales[1],
        y_zero_point: c.zps[1],
      },
    };
    const [actual] = await runNodeOnGpu(gpu, node, [x], cache);
    const [expected] = qlinearGlobalAveragePool.reference(node, [x]);
    const [onnx] = qlinearGlobalAveragePool.reference(
      { ...node, inputs: NAMES },
      operands(c, 10 + i),
    );
    assertClose(expected.data, onnx.data, TOLERANCES.exact, `constant form, case ${i}`);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `GPU case ${i}`);
  }
});
