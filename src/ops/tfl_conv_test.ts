import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { makeTensor, type Node, type Tensor } from "../graph/types.ts";
import {
  foldBias,
  packConvWeights,
  packDepthwiseWeights,
  requantTensor,
} from "../tflite/int8_pack.ts";
import { gpuTest } from "../testing/gpu.ts";
import { seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import {
  fixedRequant,
  fromNhwc4,
  randomInts,
  tfliteAxis,
  toNhwc4,
  xnnpackRequant,
} from "./_tfl_testing.ts";
import { padChannels } from "./nhwc4.ts";
import { convMultipliers } from "./tfl_math.ts";
import { cpuTypeScript, tflConv, tflGeometry } from "./tfl_conv.ts";
import type { RequantMode } from "./tfl_requant.ts";

/** A TFLite int8 conv in its file's form, and the arithmetic to use. */
interface Case {
  n: number;
  h: number;
  w: number;
  c: number;
  /** Output channels (equal to c for depthwise). */
  m: number;
  kernel: [number, number];
  stride: [number, number];
  dilation: [number, number];
  padding: "SAME" | "VALID";
  depthwise: boolean;
  mode: RequantMode;
  xZero: number;
  yZero: number;
  act: [number, number];
}

const CASES: Case[] = [
  {
    n: 2,
    h: 7,
    w: 5,
    c: 3,
    m: 5,
    kernel: [3, 3],
    stride: [1, 1],
    dilation: [1, 1],
    padding: "SAME",
    depthwise: false,
    mode: "float",
    xZero: -7,
    yZero: 5,
    act: [5, 127],
  },
  {
    n: 1,
    h: 9,
    w: 6,
    c: 6,
    m: 8,
    kernel: [3, 2],
    stride: [2, 1],
    dilation: [2, 1],
    padding: "VALID",
    depthwise: false,
    mode: "fixed_point",
    xZero: 3,
    yZero: -20,
    act: [-128, 127],
  },
  {
    n: 1,
    h: 8,
    w: 8,
    c: 16,
    m: 12,
    kernel: [1, 1],
    stride: [2, 2],
    dilation: [1, 1],
    padding: "SAME",
    depthwise: false,
    mode: "fixed_point",
    xZero: -128,
    yZero: -128,
    act: [-128, 40],
  },
  {
    n: 1,
    h: 6,
    w: 7,
    c: 5,
    m: 5,
    kernel: [3, 3],
    stride: [2, 2],
    dilation: [1, 1],
    padding: "SAME",
    depthwise: true,
    mode: "fixed_point",
    xZero: 10,
    yZero: 0,
    act: [0, 127],
  },
  {
    n: 2,
    h: 5,
    w: 5,
    c: 8,
    m: 8,
    kernel: [3, 3],
    stride: [1, 1],
    dilation: [1, 1],
    padding: "SAME",
    depthwise: true,
    mode: "float",
    xZero: -3,
    yZero: 7,
    act: [-128, 127],
  },
];

/** The case's data in TFLite form, its resin node and packed inputs, and TFLite's output. */
function build(k: Case, seed: number) {
  const rand = seededRandom(seed);
  const [kh, kw] = k.kernel;
  const ay = tfliteAxis(k.h, kh, k.stride[0], k.dilation[0], k.padding);
  const ax = tfliteAxis(k.w, kw, k.stride[1], k.dilation[1], k.padding);
  const x = makeTensor("i8", [k.n, k.h, k.w, k.c], randomInts(seed, k.n * k.h * k.w * k.c));
  const wShape = k.depthwise ? [1, kh, kw, k.c] : [k.m, kh, kw, k.c];
  const w = makeTensor("i8", wShape, randomInts(seed + 1, wShape.reduce((a, b) => a * b)));
  const bias = makeTensor("i32", [k.m], randomInts(seed + 2, k.m, -5000, 5000));
  const sx = 0.01 + 0.09 * rand(), sy = 0.02 + 0.2 * rand();
  const sw = Array.from({ length: k.m }, () => Math.fround(0.001 + 0.01 * rand()));
  const mults = convMultipliers(sx, sw, sy);
  const scale = (m: number) => Math.fround(Math.fround(Math.fround(sx) * sw[m]) / Math.fround(sy));
  // TFLite: bias + sum over in-image taps of (x - z_x) * w, then requantize.
  const expected: number[] = [];
  for (let n = 0; n < k.n; n++) {
    for (let oy = 0; oy < ay.out; oy++) {
      for (let ox = 0; ox < ax.out; ox++) {
        for (let m = 0; m < k.m; m++) {
          let acc = bias.data[m];
          for (let ky = 0; ky < kh; ky++) {
            for (let kx = 0; kx < kw; kx++) {
              const iy = oy * k.stride[0] - ay.before + ky * k.dilation[0];
              const ix = ox * k.stride[1] - ax.before + kx * k.dilation[1];
              if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
              for (const c of k.depthwise ? [m] : [...Array(k.c).keys()]) {
                const xv = x.data[((n * k.h + iy) * k.w + ix) * k.c + c] - k.xZero;
                const wv = k.depthwise
                  ? w.data[(ky * kw + kx) * k.c + c]
                  : w.data[((m * kh + ky) * kw + kx) * k.c + c];
                acc += xv * wv;
              }
            }
          }
          expected.push(
            k.mode === "float"
              ? xnnpackRequant(acc, scale(m), k.yZero, ...k.act)
              : fixedRequant(acc, mults[m], k.yZero, ...k.act),
          );
        }
      }
    }
  }
  const mp = padChannels(k.m);
  const taps = kh * kw;
  const packedW = k.depthwise ? packDepthwiseWeights(w) : packConvWeights(w);
  const b = k.depthwise
    ? foldBias(bias, k.m, taps, (m, j) => w.data[j * k.c + m], k.xZero, mp)
    : foldBias(bias, k.m, taps * k.c, (m, j) => w.data[m * taps * k.c + j], k.xZero, mp);
  const r = requantTensor(k.mode, sx, sw, sy, mp, (m) => mults[m]);
  const node: Node = {
    name: "conv",
    op: "TflConv",
    inputs: ["x", "w", "b", "r"],
    outputs: ["y"],
    attrs: {
      kernel_shape: k.kernel,
      strides: k.stride,
      dilations: k.dilation,
      pads: [ay.before, ax.before, ay.after, ax.after],
      x_pad: k.xZero,
      y_zero_point: k.yZero,
      act_min: k.act[0],
      act_max: k.act[1],
    },
  };
  const inputs: Tensor[] = [toNhwc4(x, seed + 3), packedW, b, r];
  return { node, inputs, expected };
}

Deno.test("TflConv reference equals TFLite's int8 conv on odd shapes, both requantizations", () => {
  CASES.forEach((k, i) => {
    const { node, inputs, expected } = build(k, 10 * i + 1);
    const [y] = tflConv.reference(node, inputs);
    assertClose(fromNhwc4(y, k.m), expected, TOLERANCES.exact, `case ${i} (${JSON.stringify(k)})`);
  });
});

Deno.test("TflConv CPU kernels (WebAssembly sums, TypeScript) match the reference bit for bit", () => {
  CASES.forEach((k, i) => {
    const { node, inputs } = build(k, 10 * i + 3);
    const [expected] = tflConv.reference(node, inputs);
    const [fast] = tflConv.cpu!(node, inputs);
    assertClose(fast.data, expected.data, TOLERANCES.exact, `cpu, case ${i}`);
    const [typescript] = cpuTypeScript(tflGeometry(node, inputs), inputs);
    assertClose(typescript.data, expected.data, TOLERANCES.exact, `TypeScript, case ${i}`);
  });
});

gpuTest("TflConv GPU kernels match the reference bit for bit", async ({ gpu, cache }) => {
  // As a GPU (the direct kernel) and as a CPU-like adapter (the register GEMM for dense convs).
  for (const isFallbackAdapter of [false, true]) {
    for (const [i, k] of CASES.entries()) {
      const { node, inputs } = build(k, 10 * i + 5);
      const [actual] = await runNodeOnGpu({ ...gpu, isFallbackAdapter }, node, inputs, cache);
      const [expected] = tflConv.reference(node, inputs);
      assertClose(
        actual.data,
        expected.data,
        TOLERANCES.exact,
        `case ${i}, ${isFallbackAdapter ? "register GEMM" : "direct kernel"}`,
      );
    }
  }
});
