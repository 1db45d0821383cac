import assert from "node:assert/strict";
import { gpuTest } from "../src/testing/gpu.ts";
import { GpuTimer } from "./gpu_timer.ts";
import {
  GpuPeakKernel,
  type GpuPeakKind,
  hasDot4,
  PEAK_CHAINS,
  PEAK_UNROLL,
  PEAK_VALUES,
  PEAK_WORKGROUP,
} from "./peak.ts";

/** dot4I8Packed: the sum of the products of the four signed bytes of `a` and `b`. */
function dot4I8(a: number, b: number): number {
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += ((a << (24 - 8 * i)) >> 24) * ((b << (24 - 8 * i)) >> 24);
  return sum;
}

/** What invocation `gid` of each kernel writes after one loop iteration (PEAK_UNROLL steps). */
const EXPECTED: Record<GpuPeakKind, (gid: number) => number> = {
  "f32-fma": (gid) => {
    let total = 0;
    for (let c = 0; c < PEAK_CHAINS; c++) {
      let acc = Math.fround(Math.fround(gid * Math.fround(1e-6)) + c + 1);
      for (let s = 0; s < PEAK_UNROLL; s++) {
        acc = Math.fround(acc * Math.fround(PEAK_VALUES.mul) + Math.fround(PEAK_VALUES.add));
      }
      total += 4 * acc; // four equal lanes
    }
    return total;
  },
  "dot4-i8": (gid) => {
    let xor = 0;
    for (let c = 0; c < PEAK_CHAINS; c++) {
      let acc = (gid + c) | 0;
      for (let s = 0; s < PEAK_UNROLL; s++) acc = (dot4I8(acc, PEAK_VALUES.packed) + acc) | 0;
      xor ^= acc;
    }
    return xor >>> 0;
  },
};

gpuTest("The GPU peak kernels compute their chains as specified", async (env) => {
  const timer = new GpuTimer(env.gpu);
  const kinds: GpuPeakKind[] = hasDot4() ? ["f32-fma", "dot4-i8"] : ["f32-fma"];
  try {
    for (const kind of kinds) {
      const kernel = await GpuPeakKernel.create(env.gpu, timer, kind, 2);
      try {
        assert.equal(kernel.ops, 2 * PEAK_WORKGROUP * PEAK_UNROLL * PEAK_CHAINS * 8);
        const out = await kernel.readOutput();
        const floats = new Float32Array(out.buffer, out.byteOffset, out.length);
        assert.equal(out.length, 2 * PEAK_WORKGROUP);
        for (let gid = 0; gid < out.length; gid++) {
          const expected = EXPECTED[kind](gid);
          if (kind === "dot4-i8") {
            assert.equal(out[gid], expected, `${kind} invocation ${gid}`);
          } else {
            const err = Math.abs(floats[gid] - expected);
            assert.ok(
              err <= 1e-5 * expected,
              `${kind} invocation ${gid}: ${floats[gid]} vs ${expected}`,
            );
          }
        }
      } finally {
        kernel.dispose();
      }
    }
  } finally {
    timer.dispose();
  }
});
