import assert from "node:assert/strict";
import type { Node, Tensor } from "../graph/types.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import {
  ALL_EXTRAS,
  CONV_CPU_CASES,
  convCpuSetup,
  fusionName,
  FUSIONS,
  PLAIN,
} from "./_conv_cpu_cases.ts";
import { conv, convGeometry } from "./conv.ts";
import { convCpu, convIm2col, convTensors } from "./conv_cpu.ts";

/** Checks convCpu (WebAssembly where available) and convIm2col against the reference. */
function checkKernels(node: Node, inputs: (Tensor | undefined)[], label: string) {
  const [expected] = conv.reference(node, inputs);
  const g = convGeometry(node, inputs);
  const [fast] = convCpu(g, inputs);
  assert.deepEqual(fast.shape, expected.shape);
  assertClose(fast.data, expected.data, TOLERANCES.f32Kernel, `convCpu: ${label}`);
  const im2col = new Float32Array(fast.data.length).fill(NaN);
  convIm2col(g, convTensors(inputs), im2col);
  assertClose(im2col, expected.data, TOLERANCES.f32Kernel, `convIm2col: ${label}`);
}

Deno.test("convCpu and convIm2col match the reference on every path's geometry", () => {
  CONV_CPU_CASES.forEach((c, i) => {
    for (const f of [PLAIN, ALL_EXTRAS]) {
      const { node, inputs } = convCpuSetup(700 + i, c, f);
      checkKernels(node, inputs, `${c.name}, ${fusionName(f)}`);
    }
  });
});

Deno.test("convCpu and convIm2col match the reference for every fused combination", () => {
  // Padded on every side (staged into a padded copy), and 1x1 (staged in place or not at all).
  for (const c of [CONV_CPU_CASES[0], CONV_CPU_CASES[1]]) {
    FUSIONS.forEach((f, i) => {
      const { node, inputs } = convCpuSetup(800 + i, c, f);
      checkKernels(node, inputs, `${c.name}, ${fusionName(f)}`);
    });
  }
});
