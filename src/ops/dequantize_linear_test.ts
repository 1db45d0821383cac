import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import type { DType, Node, Tensor } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { runOrtNode, scalar, vector } from "./_int8_testing.ts";
import { dequantizeLinear } from "./dequantize_linear.ts";

const RANGES: Record<string, [number, number]> = {
  u8: [0, 256],
  i8: [-128, 128],
  i32: [-(2 ** 31), 2 ** 31 - 1],
};

function data(seed: number, dtype: DType, shape: number[]): Tensor {
  return randomTensor(seededRandom(seed), dtype, shape, ...RANGES[dtype]);
}

Deno.test("DequantizeLinear reference and CPU kernel equal onnxruntime (u8/i8/i32, per tensor/axis)", async () => {
  const cases = [
    { dtype: "u8" as const, shape: [2, 3, 5, 7], scale: [0.0173], zp: [131] },
    { dtype: "i8" as const, shape: [3, 17], scale: [0.31], zp: [-5] },
    { dtype: "i32" as const, shape: [1000], scale: [1.2633495e-5], zp: [0] },
    { dtype: "i8" as const, shape: [2, 3, 4], scale: [0.5, 0.03125, 0.0173], zp: [3, -128, 127] },
    { dtype: "i32" as const, shape: [2, 3, 50], scale: [3e-7, 0.1, 7], zp: [0, 0, 0] },
  ];
  for (const [k, c] of cases.entries()) {
    const x = data(k + 1, c.dtype, c.shape);
    const perAxis = c.scale.length > 1;
    const s = perAxis ? vector("f32", c.scale) : scalar("f32", c.scale[0]);
    const z = perAxis ? vector(c.dtype, c.zp) : scalar(c.dtype, c.zp[0]);
    const node: Node = {
      name: "dq",
      op: "DequantizeLinear",
      inputs: ["x", "s", "z"],
      outputs: ["y"],
      attrs: perAxis ? { axis: 1 } : {},
    };
    const [expected] = await runOrtNode({
      op: "DequantizeLinear",
      inputs: [{ name: "x", tensor: x, runtime: true }, { name: "s", tensor: s }, {
        name: "z",
        tensor: z,
      }],
      outputs: ["f32"],
      attrs: perAxis ? { axis: 1 } : {},
    });
    for (const kernel of ["reference", "cpu"] as const) {
      const [actual] = dequantizeLinear[kernel]!(node, [x, s, z]);
      assertClose(actual.data, expected.data, TOLERANCES.exact, `DequantizeLinear ${kernel} ${k}`);
    }
  }
});

gpuTest("DequantizeLinear GPU kernel matches the reference", async ({ gpu, cache }) => {
  for (
    const [k, c] of [
      { dtype: "u8" as const, shape: [1, 3, 7, 5], scale: 0.0186584, zp: 114 },
      { dtype: "i8" as const, shape: [13], scale: 0.25, zp: -3 },
      { dtype: "i32" as const, shape: [2, 3, 33, 17], scale: 1.2633495e-5, zp: 7 },
    ].entries()
  ) {
    const node: Node = {
      name: `dq${k}`,
      op: "DequantizeLinear",
      inputs: ["x"],
      outputs: ["y"],
      attrs: { scale: c.scale, zero_point: c.zp },
    };
    const x = data(30 + k, c.dtype, c.shape);
    const [actual] = await runNodeOnGpu(gpu, node, [x], cache);
    const [expected] = dequantizeLinear.reference(node, [x]);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `DequantizeLinear GPU case ${k}`);
  }
});
