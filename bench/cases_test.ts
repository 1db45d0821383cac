import assert from "node:assert/strict";
import { runNodeOnGpu } from "../src/executor/gpu_node_runner.ts";
import { DTYPE_BYTES, sizeOf, type TensorType } from "../src/graph/types.ts";
import { opFor } from "../src/ops/registry.ts";
import { gpuTest } from "../src/testing/gpu.ts";
import { assertClose, TOLERANCES } from "../src/testing/tolerance.ts";
import { caseBytes, caseInputs, caseOutputs, KERNEL_CASES, KERNEL_FAMILIES } from "./cases.ts";

Deno.test("Kernel cases: unique names, every family present, 'same' padding keeps ceil(size / stride)", () => {
  assert.equal(new Set(KERNEL_CASES.map((c) => c.name)).size, KERNEL_CASES.length);
  for (const family of KERNEL_FAMILIES) {
    assert.ok(KERNEL_CASES.some((c) => c.family === family), `no case for ${family}`);
  }
  for (const c of KERNEL_CASES.filter((c) => c.node.op === "Conv")) {
    const [, , size] = c.inputs[0]!.shape;
    const stride = (c.node.attrs.strides as number[])[0];
    const [y] = caseOutputs(c);
    const out = Math.ceil(size / stride);
    assert.deepEqual(y.shape, [1, c.inputs[1]!.shape[0], out, out], c.name);
  }
  for (const c of KERNEL_CASES.filter((c) => c.node.op === "QLinearConvNhwc")) {
    const [, size] = c.inputs[0]!.shape;
    const stride = (c.node.attrs.strides as number[])[0];
    const out = Math.ceil(size / stride);
    assert.deepEqual(caseOutputs(c)[0].shape, [1, out, out, c.inputs[1]!.shape[0]], c.name);
  }
  // The ResNet stem: 224 -> 112 (conv 7x7/2) -> 56 (max pool 3x3/2).
  const stem = KERNEL_CASES.find((c) => c.family === "conv 7x7/2")!;
  assert.deepEqual(caseOutputs(stem)[0].shape, [1, 64, 112, 112]);
  const pool = KERNEL_CASES.find((c) => c.family === "max pool 3x3/2")!;
  assert.deepEqual(caseOutputs(pool)[0].shape, [1, 64, 56, 56]);
});

Deno.test("Kernel cases count their operations and bytes from the inferred shapes", () => {
  for (const c of KERNEL_CASES) {
    const [y] = caseOutputs(c);
    const x = c.inputs[0]!;
    const w = c.inputs[1];
    const expected = {
      Conv: () => 2 * sizeOf(y.shape) * (sizeOf(w!.shape) / w!.shape[0]),
      QLinearConvNhwc: () => 2 * sizeOf(y.shape) * (sizeOf(w!.shape) / w!.shape[0]),
      Gemm: () => 2 * sizeOf(y.shape) * x.shape[1],
      MaxPool: () => 9 * sizeOf(y.shape),
      GlobalAveragePool: () => sizeOf(x.shape),
    }[c.node.op as "Conv" | "QLinearConvNhwc" | "Gemm" | "MaxPool" | "GlobalAveragePool"]();
    assert.equal(c.ops, expected, c.name);
    const bytes = (t: TensorType | undefined) => t ? sizeOf(t.shape) * DTYPE_BYTES[t.dtype] : 0;
    const total = c.inputs.reduce((n, t) => n + bytes(t), bytes(y));
    assert.equal(caseBytes(c), total, c.name);
    assert.equal(c.arithmetic === "int8", c.node.op === "QLinearConvNhwc", c.name);
  }
});

gpuTest("Every kernel case: the GPU and fast CPU kernels match the reference", async (env) => {
  for (const [i, c] of KERNEL_CASES.entries()) {
    const def = opFor(c.node);
    const inputs = caseInputs(c, 100 + i);
    const [expected] = def.reference(c.node, inputs);
    const tolerance = c.arithmetic === "int8" ? TOLERANCES.exact : TOLERANCES.f32Kernel;
    if (c.arithmetic === "int8") {
      // The multipliers keep the outputs spread over the byte range, not saturated.
      assert.ok(new Set(expected.data).size > 128, `${c.name}: outputs spread`);
    }
    const [gpu] = await runNodeOnGpu(env.gpu, c.node, inputs, env.cache);
    assertClose(gpu.data, expected.data, tolerance, `GPU ${c.family} ${c.name}`);
    if (def.cpu) {
      const [cpu] = def.cpu(c.node, inputs);
      assertClose(cpu.data, expected.data, tolerance, `CPU ${c.family} ${c.name}`);
    }
  }
});
