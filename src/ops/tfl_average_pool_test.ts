import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { makeTensor, type Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { fromNhwc4, randomInts, tfliteAxis, toNhwc4 } from "./_tfl_testing.ts";
import { tflAveragePool } from "./tfl_average_pool.ts";
import { roundHalfAway } from "./tfl_math.ts";

interface Case {
  shape: [number, number, number, number];
  kernel: [number, number];
  stride: [number, number];
  padding: "SAME" | "VALID";
  act: [number, number];
}

const CASES: Case[] = [
  { shape: [1, 8, 8, 64], kernel: [8, 8], stride: [8, 8], padding: "VALID", act: [-128, 127] },
  { shape: [2, 7, 5, 3], kernel: [3, 3], stride: [2, 2], padding: "SAME", act: [-128, 127] },
  { shape: [1, 6, 9, 5], kernel: [2, 3], stride: [1, 2], padding: "SAME", act: [-20, 90] },
];

function build(k: Case, seed: number) {
  const [n, h, w, c] = k.shape;
  const ay = tfliteAxis(h, k.kernel[0], k.stride[0], 1, k.padding);
  const ax = tfliteAxis(w, k.kernel[1], k.stride[1], 1, k.padding);
  const x = makeTensor("i8", k.shape, randomInts(seed, n * h * w * c));
  // The mean of the in-image values, rounded half away from zero, clamped.
  const expected: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < ay.out; oy++) {
      for (let ox = 0; ox < ax.out; ox++) {
        for (let ch = 0; ch < c; ch++) {
          const values: number[] = [];
          for (let ky = 0; ky < k.kernel[0]; ky++) {
            for (let kx = 0; kx < k.kernel[1]; kx++) {
              const iy = oy * k.stride[0] - ay.before + ky, ix = ox * k.stride[1] - ax.before + kx;
              if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                values.push(x.data[((b * h + iy) * w + ix) * c + ch]);
              }
            }
          }
          const mean = roundHalfAway(values.reduce((s, v) => s + v, 0) / values.length);
          expected.push(Math.min(k.act[1], Math.max(k.act[0], mean)));
        }
      }
    }
  }
  const node: Node = {
    name: "pool",
    op: "TflAveragePool",
    inputs: ["x"],
    outputs: ["y"],
    attrs: {
      kernel_shape: k.kernel,
      strides: k.stride,
      pads: [ay.before, ax.before, ay.after, ax.after],
      act_min: k.act[0],
      act_max: k.act[1],
    },
  };
  return { node, input: toNhwc4(x, seed + 1), expected, c };
}

Deno.test("TflAveragePool reference averages in-image values, halfway away from zero", () => {
  CASES.forEach((k, i) => {
    const { node, input, expected, c } = build(k, 3 * i + 1);
    const [y] = tflAveragePool.reference(node, [input]);
    assertClose(fromNhwc4(y, c), expected, TOLERANCES.exact, `case ${i}`);
  });
});

gpuTest("TflAveragePool GPU kernel matches the reference", async ({ gpu, cache }) => {
  for (const [i, k] of CASES.entries()) {
    const { node, input } = build(k, 3 * i + 2);
    const [actual] = await runNodeOnGpu(gpu, node, [input], cache);
    const [expected] = tflAveragePool.reference(node, [input]);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `case ${i}`);
  }
});
