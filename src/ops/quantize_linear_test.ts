import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { makeTensor, type Node, type Tensor } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { runOrtNode, scalar, vector } from "./_int8_testing.ts";
import { quantizeLinear, quantizeTypeScript } from "./quantize_linear.ts";
import { keyValue, orderedKey, quantizeThresholds } from "./quantize_thresholds.ts";

const onnxNode = (axis?: number): Node => ({
  name: "q",
  op: "QuantizeLinear",
  inputs: ["x", "s", "z"],
  outputs: ["y"],
  attrs: axis === undefined ? {} : { axis },
});

/**
 * Random values, exact ties of x / scale (power-of-two scales), out-of-range values, NaN,
 * infinities, -0 and a subnormal.
 */
function inputs(seed: number, shape: number[], scale: number): Tensor {
  const rand = seededRandom(seed);
  const x = randomTensor(rand, "f32", shape, -300 * scale, 300 * scale);
  for (let i = 0; i < x.data.length; i += 3) {
    x.data[i] = (Math.floor(rand() * 600) - 300 + 0.5) * scale;
  }
  x.data[1] = 1e30;
  x.data[2] = -1e30;
  x.data[4] = NaN;
  x.data[5] = Infinity;
  x.data[7] = -Infinity;
  x.data[8] = -0;
  x.data[10] = 1e-40;
  return x;
}

Deno.test("QuantizeLinear reference and CPU kernel equal onnxruntime (u8/i8, per tensor/axis, ties)", async () => {
  const cases = [
    { dtype: "u8" as const, shape: [2, 3, 5, 7], scale: [0.25], zp: [131] },
    { dtype: "i8" as const, shape: [3, 17], scale: [0.0078125], zp: [-5] },
    { dtype: "u8" as const, shape: [1, 1000], scale: [0.0137], zp: [0] },
    // More values than the WebAssembly kernel copies in at once (65536), not a multiple of 16.
    { dtype: "i8" as const, shape: [7, 10001], scale: [0.0625], zp: [9] },
    { dtype: "i8" as const, shape: [2, 3, 4], scale: [0.5, 0.03125, 0.0173], zp: [3, -128, 127] },
  ];
  for (const [k, c] of cases.entries()) {
    const x = inputs(k + 1, c.shape, c.scale[0]);
    const perAxis = c.scale.length > 1;
    const s = perAxis ? vector("f32", c.scale) : scalar("f32", c.scale[0]);
    const z = perAxis ? vector(c.dtype, c.zp) : scalar(c.dtype, c.zp[0]);
    const node = onnxNode(perAxis ? 1 : undefined);
    const [expected] = await runOrtNode({
      op: "QuantizeLinear",
      inputs: [{ name: "x", tensor: x, runtime: true }, { name: "s", tensor: s }, {
        name: "z",
        tensor: z,
      }],
      outputs: [c.dtype],
      attrs: perAxis ? { axis: 1 } : {},
    });
    const kernels = {
      reference: quantizeLinear.reference,
      cpu: quantizeLinear.cpu!,
      typescript: quantizeTypeScript,
    };
    for (const [kernel, run] of Object.entries(kernels)) {
      const [actual] = run(node, [x, s, z]);
      assert.equal(actual.dtype, c.dtype);
      assertClose(actual.data, expected.data, TOLERANCES.exact, `QuantizeLinear ${kernel} ${k}`);
    }
  }
});

Deno.test("QuantizeLinear constant form equals the ONNX form", () => {
  const x = inputs(9, [4, 9], 0.03125);
  const constant: Node = {
    name: "q",
    op: "QuantizeLinear",
    inputs: ["x"],
    outputs: ["y"],
    attrs: { scale: 0.03125, zero_point: -7, to: "i8" },
  };
  const [a] = quantizeLinear.reference(constant, [x]);
  const [b] = quantizeLinear.reference(onnxNode(), [x, scalar("f32", 0.03125), scalar("i8", -7)]);
  assertClose(a.data, b.data, TOLERANCES.exact);
});

Deno.test("Quantization thresholds are the exact step points of the reference", () => {
  const scale = Math.fround(0.0173);
  const table = quantizeThresholds(scale, 17, 0, 255);
  for (let k = 1; k < 256; k++) {
    assert.ok(table[k] > table[k - 1], `step ${k} is not above step ${k - 1}`);
    const [at] = quantizeLinear.reference(
      {
        name: "q",
        op: "QuantizeLinear",
        inputs: ["x"],
        outputs: ["y"],
        attrs: { scale, zero_point: 17, to: "u8" },
      },
      [makeTensor("f32", [2], [keyValue(table[k]), keyValue(table[k] - 1)])],
    );
    assert.deepEqual([...at.data], [k, k - 1], `step ${k}`);
  }
  assert.equal(orderedKey(keyValue(orderedKey(-0))), orderedKey(-0));
});

gpuTest("QuantizeLinear GPU kernel matches the reference", async ({ gpu, cache }) => {
  for (
    const [k, c] of [
      { dtype: "u8", shape: [1, 3, 7, 5], scale: 0.25, zp: 128 },
      { dtype: "i8", shape: [13], scale: 0.0173, zp: -3 },
      { dtype: "u8", shape: [2, 3, 33, 17], scale: 0.0186584, zp: 114 },
    ].entries()
  ) {
    const node: Node = {
      name: `q${k}`,
      op: "QuantizeLinear",
      inputs: ["x"],
      outputs: ["y"],
      attrs: { scale: c.scale, zero_point: c.zp, to: c.dtype },
    };
    const x = inputs(20 + k, c.shape, c.scale);
    const special = [0, -0, Infinity, -Infinity, NaN, 1e-40, -1e-40, 3.4e38];
    special.forEach((v, i) => (x.data[(i * 7) % x.data.length] = v));
    const [actual] = await runNodeOnGpu(gpu, node, [x], cache);
    const [expected] = quantizeLinear.reference(node, [x]);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `QuantizeLinear GPU case ${k}`);
  }
});
