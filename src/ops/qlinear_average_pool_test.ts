import type { Attributes, Node, Tensor } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { runOrtNode, scalar } from "./_int8_testing.ts";
import { qlinearAveragePool } from "./qlinear_average_pool.ts";

const CASES: {
  dtype: "u8" | "i8";
  shape: number[];
  attrs: Attributes;
  scales: [number, number];
}[] = [
  {
    dtype: "u8",
    shape: [1, 3, 7, 9],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    scales: [0.02, 0.021],
  },
  {
    dtype: "u8",
    shape: [2, 4, 6, 6],
    attrs: { kernel_shape: [3, 2], count_include_pad: 1, pads: [1, 0, 1, 1] },
    scales: [0.05, 0.05],
  },
  {
    dtype: "i8",
    shape: [1, 5, 8, 5],
    attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 },
    scales: [0.013, 0.011],
  },
  { dtype: "u8", shape: [1, 6, 7, 7], attrs: { kernel_shape: [7, 7] }, scales: [0.04, 0.03] },
  {
    dtype: "u8",
    shape: [1, 5, 4, 6],
    attrs: { kernel_shape: [3, 3], channels_last: 1, pads: [1, 1, 1, 1] },
    scales: [0.5, 0.25],
  },
];

const NAMES = ["x", "xs", "xz", "ys", "yz"];

Deno.test("QLinearAveragePool reference equals onnxruntime (float path and global fallback)", async () => {
  for (const [i, c] of CASES.entries()) {
    const x = randomTensor(
      seededRandom(i + 1),
      c.dtype,
      c.shape,
      ...(c.dtype === "u8" ? [0, 256] : [-128, 128]),
    );
    const inputs: Tensor[] = [
      x,
      scalar("f32", c.scales[0]),
      scalar(c.dtype, c.dtype === "u8" ? 7 : -3),
      scalar("f32", c.scales[1]),
      scalar(c.dtype, 11),
    ];
    const node: Node = {
      name: `avg${i}`,
      op: "QLinearAveragePool",
      inputs: NAMES,
      outputs: ["y"],
      attrs: c.attrs,
    };
    const [expected] = await runOrtNode({
      op: "QLinearAveragePool",
      domain: "com.microsoft",
      inputs: inputs.map((tensor, k) => ({ name: NAMES[k], tensor, runtime: k === 0 })),
      outputs: [c.dtype],
      attrs: c.attrs as Record<string, number | number[]>,
    });
    const [actual] = qlinearAveragePool.reference(node, inputs);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `QLinearAveragePool case ${i}`);
  }
});
