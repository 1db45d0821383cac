import assert from "node:assert/strict";
import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import type { GpuContext } from "../executor/gpu_device.ts";
import { planNodeOnGpu, runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { gpuTest, withTextureRows } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import {
  assertClose,
  assertWithinBounds,
  F16_PRODUCT_ERROR,
  relativeL2,
  TOLERANCES,
} from "../testing/tolerance.ts";
import { conv, convGeometry } from "./conv.ts";
import { winogradAlgorithmFor, winogradApplies, winogradPlan } from "./conv_winograd.ts";
import { WINOGRAD_F2, WINOGRAD_F4 } from "./winograd_algorithms.ts";
import { matmul } from "./matmul.ts";
import { MATMUL_UNIFORMS } from "../shaders/tiled_matmul.ts";

/** A Conv node over inputs x, w and the named optional inputs ("" when absent). */
function convNode(
  attrs: Node["attrs"],
  optional: { b?: boolean; z?: boolean; pre?: boolean } = {},
): Node {
  return {
    name: "conv0",
    op: "Conv",
    inputs: [
      "x",
      "w",
      optional.b ? "b" : "",
      optional.z ? "z" : "",
      optional.pre ? "scale" : "",
      optional.pre ? "shift" : "",
    ],
    outputs: ["y"],
    attrs,
  };
}

const f32 = (shape: number[]): TensorType => ({ dtype: "f32", shape });

Deno.test("Conv inferTypes follows ONNX output sizes for pads, strides, dilations, auto_pad", () => {
  const x = f32([2, 6, 7, 5]);
  const w = f32([4, 3, 3, 2]);
  const shape = (attrs: Node["attrs"]) => conv.inferTypes(convNode(attrs), [x, w])[0].shape;
  // NOTSET: floor((in + pads - ((k - 1) * d + 1)) / s) + 1, worked out by hand.
  assert.deepEqual(shape({ group: 2 }), [2, 4, 5, 4]);
  assert.deepEqual(shape({ group: 2, pads: [1, 0, 2, 1], strides: [2, 3] }), [2, 4, 4, 2]);
  assert.deepEqual(shape({ group: 2, dilations: [2, 3] }), [2, 4, 3, 2]);
  // SAME_*: ceil(in / stride); VALID: no padding.
  assert.deepEqual(shape({ group: 2, auto_pad: "SAME_UPPER", strides: [2, 2] }), [2, 4, 4, 3]);
  assert.deepEqual(shape({ group: 2, auto_pad: "SAME_LOWER" }), [2, 4, 7, 5]);
  assert.deepEqual(shape({ group: 2, auto_pad: "VALID", strides: [2, 1] }), [2, 4, 3, 4]);
});

Deno.test("Conv inferTypes rejects malformed nodes with errors naming the node", () => {
  const x = f32([1, 6, 5, 5]);
  const cases: [Node["attrs"], (TensorType | undefined)[], RegExp][] = [
    [{}, [x, f32([4, 5, 3, 3])], /Conv "conv0".*expects 5 input channels.*X has 6/],
    [{ group: 4 }, [x, f32([4, 1, 3, 3])], /Conv "conv0": group 4 does not divide the 6 input/],
    [{ group: 3 }, [x, f32([4, 2, 3, 3])], /Conv "conv0": group 3 does not divide the 4 output/],
    [{ kernel_shape: [3, 2] }, [x, f32([4, 6, 3, 3])], /kernel_shape \[3,2\] does not match/],
    [{ kernel_shape: [3] }, [x, f32([4, 6, 3, 3])], /kernel_shape must be 2 integers/],
    [{}, [f32([1, 6, 5]), f32([4, 6, 3])], /Conv "conv0": only 2-D convolution/],
    [{ auto_pad: "SAME" }, [x, f32([4, 6, 3, 3])], /auto_pad "SAME" is not one of/],
    [{ strides: [0, 1] }, [x, f32([4, 6, 3, 3])], /strides must be 2 integers >= 1/],
    [{ pads: [1, 1, 1, 1], auto_pad: "VALID" }, [x, f32([4, 6, 3, 3])], /cannot be combined/],
    [{}, [x, f32([4, 6, 7, 3])], /the 7x3 kernel .* exceeds the padded 5x5 input/],
    [{}, [x, f32([4, 6, 3, 3]), f32([5])], /bias B must have shape \[4\]/],
    [{}, [x, f32([4, 6, 3, 3]), undefined, f32([1, 4, 3, 4])], /residual Z must have/],
    [{ pre_activation: "bn" }, [x, f32([4, 6, 3, 3])], /needs exactly both pre_scale/],
    [{}, [x, f32([4, 6, 3, 3]), undefined, undefined, f32([6]), f32([6])], /needs exactly/],
    [{ pre_activation: "relu" }, [x, f32([4, 6, 3, 3])], /pre_activation "relu" is not/],
    [{ activation: "gelu" }, [x, f32([4, 6, 3, 3])], /activation "gelu" is not supported/],
    [{}, [x, { dtype: "i32", shape: [4, 6, 3, 3] }], /input 1 must be f32, got i32/],
  ];
  for (const [attrs, inputs, message] of cases) {
    assert.throws(() => conv.inferTypes(convNode(attrs), inputs), message);
  }
});

/** Conv done the long way: one-hot kernels shift the input, and conv is linear in W. */
function convByShifts(x: Tensor, w: Tensor, attrs: Node["attrs"]): Float64Array {
  const [n, c, h, wd] = x.shape;
  const [m, cg, kh, kw] = w.shape;
  const group = c / cg;
  const [sh, sw] = (attrs.strides as number[] | undefined) ?? [1, 1];
  const [dh, dw] = (attrs.dilations as number[] | undefined) ?? [1, 1];
  const [pt, pl, pb, pr] = (attrs.pads as number[] | undefined) ?? [0, 0, 0, 0];
  const oh = Math.floor((h + pt + pb - (kh - 1) * dh - 1) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - (kw - 1) * dw - 1) / sw) + 1;
  const out = new Float64Array(n * m * oh * ow);
  // Tap (i, j) of output channel o reads input channel ci at (oh*sh - pt + i*dh, ...).
  for (let o = 0; o < m; o++) {
    for (let cc = 0; cc < cg; cc++) {
      const ci = Math.floor(o / (m / group)) * cg + cc;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const weight = w.data[((o * cg + cc) * kh + i) * kw + j];
          for (let b = 0; b < n; b++) {
            for (let y = 0; y < oh; y++) {
              for (let xx = 0; xx < ow; xx++) {
                const r = y * sh - pt + i * dh, s = xx * sw - pl + j * dw;
                if (r < 0 || r >= h || s < 0 || s >= wd) continue;
                out[((b * m + o) * oh + y) * ow + xx] += weight *
                  x.data[((b * c + ci) * h + r) * wd + s];
              }
            }
          }
        }
      }
    }
  }
  return out;
}

Deno.test("Conv reference equals a sum of shifted inputs on odd shapes", () => {
  const cases: [number[], number[], Node["attrs"]][] = [
    [[1, 3, 7, 5], [4, 3, 3, 3], { pads: [1, 0, 2, 1] }],
    [[2, 4, 9, 8], [6, 2, 3, 2], { group: 2, strides: [2, 3], dilations: [2, 1] }],
    [[1, 5, 6, 7], [5, 1, 3, 3], { group: 5, pads: [2, 1, 0, 2], dilations: [2, 2] }],
    [[2, 3, 13, 13], [2, 3, 7, 7], { strides: [2, 2], pads: [3, 3, 3, 3] }],
  ];
  cases.forEach(([xs, ws, attrs], i) => {
    const rand = seededRandom(10 + i);
    const x = randomTensor(rand, "f32", xs);
    const w = randomTensor(rand, "f32", ws);
    const [y] = conv.reference(convNode(attrs), [x, w]);
    assertClose(y.data, convByShifts(x, w, attrs), TOLERANCES.f32Kernel, `case ${i}`);
  });
});

Deno.test("Conv reference 1x1 equals MatMul of the weights and the pixels", () => {
  const rand = seededRandom(3);
  const x = randomTensor(rand, "f32", [1, 17, 5, 3]);
  const w = randomTensor(rand, "f32", [7, 17, 1, 1]);
  const [y] = conv.reference(convNode({}), [x, w]);
  const mm: Node = { name: "mm", op: "MatMul", inputs: ["a", "b"], outputs: ["y"], attrs: {} };
  const [expected] = matmul.reference(mm, [
    makeTensor("f32", [7, 17], w.data),
    makeTensor("f32", [17, 15], x.data),
  ]);
  assertClose(y.data, expected.data, TOLERANCES.f32Kernel, "1x1 conv");
});

/** Applies `pre(value, channel)` to every element of `x`, then pads with zeros explicitly. */
function transformAndPad(
  x: Tensor,
  pre: (v: number, channel: number) => number,
  [pt, pl, pb, pr]: number[],
): Tensor {
  const [n, c, h, w] = x.shape;
  const padded = makeTensor("f32", [n, c, h + pt + pb, w + pl + pr]);
  const [ph, pw] = padded.shape.slice(2);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          const v = pre(x.data[((b * c + ch) * h + i) * w + j], ch);
          padded.data[((b * c + ch) * ph + i + pt) * pw + j + pl] = v;
        }
      }
    }
  }
  return padded;
}

/** The fused extras of one test case. */
interface FusedCase {
  pre: "none" | "bn" | "bn_relu";
  bias: boolean;
  residual: boolean;
  act: "none" | "relu" | "clip";
}

/**
 * Random inputs for a fused Conv case with `attrs`; pre_shift is mostly positive so that
 * pre(0) != 0 and a kernel that pre-activates the padding fails.
 */
function fusedInputs(
  seed: number,
  xShape: number[],
  wShape: number[],
  attrs: Node["attrs"],
  f: FusedCase,
): (Tensor | undefined)[] {
  const rand = seededRandom(seed);
  const c = xShape[1];
  const outShape = conv.inferTypes(convNode(attrs), [f32(xShape), f32(wShape)])[0].shape;
  return [
    randomTensor(rand, "f32", xShape),
    randomTensor(rand, "f32", wShape),
    f.bias ? randomTensor(rand, "f32", [wShape[0]]) : undefined,
    f.residual ? randomTensor(rand, "f32", outShape) : undefined,
    f.pre !== "none" ? randomTensor(rand, "f32", [c], 0.5, 1.5) : undefined,
    f.pre !== "none" ? randomTensor(rand, "f32", [c], -0.5, 1.5) : undefined,
  ];
}

/** The node of a fused case. */
function fusedNode(attrs: Node["attrs"], f: FusedCase): Node {
  const extra: Node["attrs"] = {};
  if (f.pre !== "none") extra.pre_activation = f.pre;
  if (f.act !== "none") extra.activation = f.act;
  if (f.act === "clip") Object.assign(extra, { clip_min: -0.75, clip_max: 1.25 });
  return convNode({ ...attrs, ...extra }, { b: f.bias, z: f.residual, pre: f.pre !== "none" });
}

/**
 * The unfused computation of a fused case, each step by hand: BN -> (ReLU) -> explicit zero
 * pad -> plain conv (reference, no padding, no extras) -> + B -> + Z -> activation.
 */
function unfused(attrs: Node["attrs"], f: FusedCase, inputs: (Tensor | undefined)[]): Tensor {
  const [x, w, b, z, scale, shift] = inputs;
  const pads = (attrs.pads as number[] | undefined) ?? [0, 0, 0, 0];
  const activated = transformAndPad(x!, (v, ch) => {
    if (f.pre === "none") return v;
    const t = v * scale!.data[ch] + shift!.data[ch];
    return f.pre === "bn_relu" ? Math.max(t, 0) : t;
  }, pads);
  const [y] = conv.reference(convNode({ ...attrs, pads: [0, 0, 0, 0] }), [activated, w]);
  const [, m, oh, ow] = y.shape;
  for (let i = 0; i < y.data.length; i++) {
    let v = y.data[i];
    if (b) v += b.data[Math.floor(i / (oh * ow)) % m];
    if (z) v += z.data[i];
    if (f.act === "relu") v = Math.max(v, 0);
    if (f.act === "clip") v = Math.min(Math.max(v, -0.75), 1.25);
    y.data[i] = v;
  }
  return y;
}

/** Every combination of fused extras. */
const FUSED_CASES: FusedCase[] = (["none", "bn", "bn_relu"] as const).flatMap((pre) =>
  [false, true].flatMap((bias) =>
    [false, true].flatMap((residual) =>
      (["none", "relu", "clip"] as const).map((act) => ({ pre, bias, residual, act }))
    )
  )
);

const caseName = (f: FusedCase) =>
  `pre ${f.pre}, bias ${f.bias}, residual ${f.residual}, act ${f.act}`;

/** Indices of the outputs whose receptive field overlaps the padding. */
function borderIndices(shape: number[], attrs: Node["attrs"], h: number, w: number): number[] {
  const [n, m, oh, ow] = shape;
  const [kh, kw] = attrs.kernel_shape as number[];
  const [sh, sw] = (attrs.strides as number[] | undefined) ?? [1, 1];
  const [pt, pl] = attrs.pads as number[];
  const out: number[] = [];
  for (let i = 0; i < n * m * oh * ow; i++) {
    const y = Math.floor(i / ow) % oh, x = i % ow;
    const r0 = y * sh - pt, s0 = x * sw - pl;
    if (r0 < 0 || s0 < 0 || r0 + kh > h || s0 + kw > w) out.push(i);
  }
  return out;
}

/** A padded 3x3 conv used for the fused checks (odd sizes, asymmetric pads). */
const FUSED_ATTRS = { kernel_shape: [3, 3], pads: [1, 2, 2, 0], strides: [1, 1] };

Deno.test("Conv reference with fused extras equals BN -> ReLU -> pad -> conv -> +B +Z -> act", () => {
  FUSED_CASES.forEach((f, i) => {
    const inputs = fusedInputs(100 + i, [2, 3, 7, 5], [4, 3, 3, 3], FUSED_ATTRS, f);
    const node = fusedNode(FUSED_ATTRS, f);
    const [y] = conv.reference(node, inputs);
    const expected = unfused(FUSED_ATTRS, f, inputs);
    assert.deepEqual(y.shape, expected.shape);
    const border = borderIndices(y.shape, FUSED_ATTRS, 7, 5);
    assertClose(
      border.map((j) => y.data[j]),
      border.map((j) => expected.data[j]),
      TOLERANCES.f32Kernel,
      `padded border, ${caseName(f)}`,
    );
    assertClose(y.data, expected.data, TOLERANCES.f32Kernel, caseName(f));
  });
});

Deno.test("Conv reference SAME_UPPER / SAME_LOWER put the odd padding at the end / start", () => {
  const rand = seededRandom(4);
  const x = randomTensor(rand, "f32", [1, 2, 6, 5]);
  const w = randomTensor(rand, "f32", [3, 2, 2, 2]);
  // Total padding per axis: (out - 1) * 1 + 2 - in = 1 with out = in.
  const run = (attrs: Node["attrs"]) => conv.reference(convNode(attrs), [x, w])[0].data;
  assertClose(run({ auto_pad: "SAME_UPPER" }), run({ pads: [0, 0, 1, 1] }), TOLERANCES.exact);
  assertClose(run({ auto_pad: "SAME_LOWER" }), run({ pads: [1, 1, 0, 0] }), TOLERANCES.exact);
});

/** Convolution geometries covering the test plan (odd sizes, every kernel path). */
const CONV_CASES: { name: string; x: number[]; w: number[]; attrs: Node["attrs"] }[] = [
  { name: "3x3 pad 1, 3->7, 7x5", x: [1, 3, 7, 5], w: [7, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  { name: "1x1, 17->17, 13x13, batch 2", x: [2, 17, 13, 13], w: [17, 17, 1, 1], attrs: {} },
  { name: "1x1 stride 2, 7->17", x: [1, 7, 13, 13], w: [17, 7, 1, 1], attrs: { strides: [2, 2] } },
  {
    name: "7x7 stride 2 pad 3, 3->17, batch 2",
    x: [2, 3, 13, 13],
    w: [17, 3, 7, 7],
    attrs: { strides: [2, 2], pads: [3, 3, 3, 3] },
  },
  {
    name: "3x3 stride 2, asymmetric pads, 7->3",
    x: [1, 7, 7, 5],
    w: [3, 7, 3, 3],
    attrs: { strides: [2, 2], pads: [0, 1, 2, 1] },
  },
  {
    name: "3x3 dilation 2, 17->7",
    x: [1, 17, 9, 8],
    w: [7, 17, 3, 3],
    attrs: { dilations: [2, 2], pads: [2, 1, 2, 2] },
  },
  { name: "1 channel in, 3x3", x: [2, 1, 7, 5], w: [3, 1, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  {
    name: "group 2, 6->4",
    x: [2, 6, 7, 5],
    w: [4, 3, 3, 3],
    attrs: { group: 2, pads: [1, 0, 1, 2] },
  },
  { name: "group 2, 14->34", x: [1, 14, 7, 5], w: [34, 7, 3, 3], attrs: { group: 2 } },
  {
    name: "depthwise 3x3 stride 2, 17 channels, batch 2",
    x: [2, 17, 13, 13],
    w: [17, 1, 3, 3],
    attrs: { group: 17, strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  {
    name: "depthwise multiplier 2, dilation 2",
    x: [1, 7, 7, 5],
    w: [14, 1, 3, 3],
    attrs: { group: 7, dilations: [2, 2], pads: [0, 1, 2, 1] },
  },
  { name: "3x3 pad 1, 64->64", x: [1, 64, 7, 5], w: [64, 64, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  {
    name: "SAME_UPPER stride 2, 3->7",
    x: [1, 3, 13, 13],
    w: [7, 3, 3, 3],
    attrs: { auto_pad: "SAME_UPPER", strides: [2, 2] },
  },
  { name: "VALID 3x2, 7->7", x: [1, 7, 7, 5], w: [7, 7, 3, 2], attrs: { auto_pad: "VALID" } },
];

/** The fused extras exercised per geometry (all combinations run on FUSED_ATTRS). */
const PLAIN: FusedCase = { pre: "none", bias: false, residual: false, act: "none" };
const ALL_EXTRAS: FusedCase = { pre: "bn_relu", bias: true, residual: true, act: "relu" };

Deno.test("Conv cpu matches the reference on every geometry, plain and fully fused", () => {
  CONV_CASES.forEach((c, i) => {
    for (const f of [PLAIN, ALL_EXTRAS]) {
      const inputs = fusedInputs(200 + i, c.x, c.w, c.attrs, f);
      const node = fusedNode(c.attrs, f);
      const [actual] = conv.cpu!(node, inputs);
      const [expected] = conv.reference(node, inputs);
      assert.deepEqual(actual.shape, expected.shape);
      assertClose(actual.data, expected.data, TOLERANCES.f32Kernel, `${c.name}, ${caseName(f)}`);
    }
  });
});

Deno.test("Conv cpu matches the unfused computation for every fused combination", () => {
  const pointwise = { kernel_shape: [1, 1] };
  FUSED_CASES.forEach((f, i) => {
    for (const attrs of [FUSED_ATTRS, pointwise]) {
      const wShape = [4, 3, ...attrs.kernel_shape];
      const inputs = fusedInputs(300 + i, [2, 3, 7, 5], wShape, attrs, f);
      const [y] = conv.cpu!(fusedNode(attrs, f), inputs);
      const expected = unfused(attrs, f, inputs);
      assertClose(y.data, expected.data, TOLERANCES.f32Kernel, `${caseName(f)}, [${wShape}]`);
    }
  });
});

/** The GPU as a real GPU (workgroup kernel) or as a CPU-like adapter (register kernel). */
const KINDS = [
  { registers: false, name: "workgroup kernel" },
  { registers: true, name: "register kernel" },
];
const asAdapter = (gpu: GpuContext, registers: boolean): GpuContext => ({
  ...gpu,
  isFallbackAdapter: registers,
});

gpuTest(
  "Conv GPU activations: none passes infinities through, relu and clip clamp",
  async ({ gpu, cache }) => {
    const x = makeTensor("f32", [1, 1, 2, 2], [Infinity, -Infinity, 2, -3]);
    const w = makeTensor("f32", [1, 1, 1, 1], [1]);
    const cases: [Node["attrs"], number[]][] = [
      [{}, [Infinity, -Infinity, 2, -3]],
      [{ activation: "relu" }, [Infinity, 0, 2, 0]],
      [{ activation: "clip", clip_min: -1, clip_max: 1.5 }, [1.5, -1, 1.5, -1]],
    ];
    for (const registers of [false, true]) {
      for (const [attrs, expected] of cases) {
        const [y] = await runNodeOnGpu(asAdapter(gpu, registers), convNode(attrs), [x, w], cache);
        assert.deepEqual([...y.data], expected, `${JSON.stringify(attrs)}, registers ${registers}`);
      }
    }
  },
);

gpuTest("Conv GPU kernels match the reference on every geometry", async ({ gpu, cache }) => {
  for (const kind of KINDS) {
    for (const [i, c] of CONV_CASES.entries()) {
      for (const f of [PLAIN, ALL_EXTRAS]) {
        const inputs = fusedInputs(400 + i, c.x, c.w, c.attrs, f);
        const node = fusedNode(c.attrs, f);
        const [actual] = await runNodeOnGpu(asAdapter(gpu, kind.registers), node, inputs, cache);
        const [expected] = conv.reference(node, inputs);
        const label = `${kind.name}: ${c.name}, ${caseName(f)}`;
        assertClose(actual.data, expected.data, TOLERANCES.f32Kernel, label);
      }
    }
  }
});

/** FUSED_ATTRS with a row stride of 2: not a Winograd conv. */
const STRIDED_ATTRS = { ...FUSED_ATTRS, strides: [2, 1] };
const POINTWISE_ATTRS = { kernel_shape: [1, 1], pads: [0, 0, 0, 0], strides: [1, 1] };

/**
 * One geometry per GPU kernel: the workgroup kernel's 16-channel and 64-channel tiles, the
 * register kernel on the shifted input (lanes epilogue) and on X itself (1x1, vec4 epilogue),
 * Winograd (3x3 stride 1 on the CPU-like adapter), and the direct (depthwise) kernel.
 */
const KERNEL_GEOMETRIES = [
  { x: [2, 3, 7, 5], w: [4, 3, 3, 3], attrs: FUSED_ATTRS, registers: false },
  { x: [1, 3, 7, 5], w: [17, 3, 3, 3], attrs: STRIDED_ATTRS, registers: false },
  { x: [2, 3, 7, 5], w: [6, 3, 3, 3], attrs: STRIDED_ATTRS, registers: true },
  { x: [2, 3, 4, 6], w: [6, 3, 1, 1], attrs: POINTWISE_ATTRS, registers: true },
  { x: [2, 3, 7, 5], w: [6, 3, 3, 3], attrs: FUSED_ATTRS, registers: true },
  { x: [2, 3, 7, 5], w: [6, 1, 3, 3], attrs: { ...FUSED_ATTRS, group: 3 }, registers: false },
];

/** True when the conv of `geo` runs as Winograd on an adapter with `registers`. */
function isWinograd(geo: { x: number[]; w: number[]; attrs: Node["attrs"] }, registers: boolean) {
  const g = convGeometry(convNode(geo.attrs), [f32(geo.x), f32(geo.w)]);
  return registers && winogradApplies(g);
}

/** The key of the program that computes the conv (after any weight transposition). */
function convKey(gpu: GpuContext, node: Node, inputs: (Tensor | undefined)[]): string {
  const types = inputs.map((t) => t && { dtype: t.dtype, shape: t.shape });
  const { programs } = planNodeOnGpu(gpu, node, types).plan;
  return programs[programs.length - 1].key;
}

gpuTest(
  "Conv GPU kernels match the unfused computation in every compiled variant",
  async ({ gpu, cache }) => {
    const keys = new Set<string>();
    for (const [k, geo] of KERNEL_GEOMETRIES.entries()) {
      const device = asAdapter(gpu, geo.registers);
      for (const [i, f] of FUSED_CASES.entries()) {
        const inputs = fusedInputs(500 + 40 * k + i, geo.x, geo.w, geo.attrs, f);
        const node = fusedNode(geo.attrs, f);
        keys.add(convKey(device, node, inputs));
        const [y] = await runNodeOnGpu(device, node, inputs, cache);
        const expected = unfused(geo.attrs, f, inputs);
        const border = borderIndices(y.shape, geo.attrs, geo.x[2], geo.x[3]);
        const label = `x [${geo.x}] w [${geo.w}], ${caseName(f)}`;
        assertClose(
          border.map((j) => y.data[j]),
          border.map((j) => expected.data[j]),
          TOLERANCES.f32Kernel,
          `padded border, ${label}`,
        );
        assertClose(y.data, expected.data, TOLERANCES.f32Kernel, label);
      }
    }
    // One variant per geometry and compiled extras (pre-activation, bias); the residual and
    // the activation are uniforms, not variants.
    const compiled = new Set(FUSED_CASES.map((f) => `${f.pre} ${f.bias}`)).size;
    assert.equal(keys.size, KERNEL_GEOMETRIES.length * compiled, [...keys].join(", "));
  },
);

/**
 * Register-kernel geometries for every load form (weights transposed, as vec4s of a depth
 * that is or is not a multiple of 4; input as vec4s of X: 1x1 stride-1 convs with a multiple
 * of 4 pixels per plane, else of the shifted copy: strides, dilations, asymmetric pads,
 * output rows of any width; outputs as vec4s from X, as masked lanes from the shifted copy,
 * also where rows hold a multiple of 4 pixels), output channels not a multiple of 4
 * (transposed padding), groups, and tiles
 * with invocations along the pixels or the channels. Their 3x3 kernels have a stride or a
 * dilation: 3x3 stride-1 convs run as Winograd on that adapter.
 */
const REGISTER_GEOMETRIES: { x: number[]; w: number[]; attrs: Node["attrs"] }[] = [
  { x: [1, 5, 17, 15], w: [7, 5, 3, 3], attrs: { pads: [1, 1, 1, 1], strides: [1, 2] } },
  { x: [2, 6, 8, 9], w: [17, 6, 1, 1], attrs: {} },
  { x: [1, 7, 4, 5], w: [9, 7, 1, 1], attrs: {} },
  { x: [1, 4, 4, 5], w: [70, 2, 3, 3], attrs: { group: 2, pads: [1, 0, 0, 1] } },
  { x: [2, 3, 16, 12], w: [6, 3, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
  { x: [1, 8, 20, 20], w: [5, 8, 1, 1], attrs: {} },
  { x: [2, 5, 13, 11], w: [7, 5, 2, 3], attrs: { strides: [1, 2], dilations: [2, 1] } },
  { x: [1, 3, 9, 10], w: [4, 3, 3, 2], attrs: { dilations: [1, 3], pads: [2, 0, 0, 3] } },
  { x: [1, 6, 12, 12], w: [9, 6, 1, 1], attrs: { strides: [2, 2] } },
  { x: [1, 4, 10, 8], w: [6, 4, 3, 3], attrs: { pads: [1, 1, 1, 1], dilations: [2, 1] } },
  { x: [2, 3, 16, 16], w: [5, 3, 3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 1] } },
];

/** Index of the tile's rows (then columns) among the conv's uniforms, which start with these. */
const TILE_ROWS = Object.keys(MATMUL_UNIFORMS).indexOf("mm_tile_rows");

gpuTest(
  "Conv register kernel matches the reference in every load form and tile shape",
  async ({ gpu, cache }) => {
    const device = asAdapter(gpu, true);
    const forms = new Set<string>(), tiles = new Set<string>(), repacks = new Set<string>();
    for (const [i, geo] of REGISTER_GEOMETRIES.entries()) {
      for (const f of [PLAIN, ALL_EXTRAS]) {
        const inputs = fusedInputs(700 + i, geo.x, geo.w, geo.attrs, f);
        const node = fusedNode(geo.attrs, f);
        const key = convKey(device, node, inputs);
        const types = inputs.map((t) => t && { dtype: t.dtype, shape: t.shape });
        const { programs, derived } = planNodeOnGpu(device, node, types).plan;
        for (const p of [...(derived ?? []).map((d) => d.program), ...programs.slice(0, -1)]) {
          repacks.add(p.key);
        }
        forms.add(key.match(/_w-[a-z0-9]+_x-[a-z0-9]+_y-[a-z0-9]+/)![0]);
        const words = programs[programs.length - 1].uniforms;
        tiles.add(`${words[TILE_ROWS]}x${words[TILE_ROWS + 1]}`);
        const [actual] = await runNodeOnGpu(device, node, inputs, cache);
        const [expected] = conv.reference(node, inputs);
        const label = `x [${geo.x}] w [${geo.w}], ${caseName(f)}: ${key}`;
        assertClose(actual.data, expected.data, TOLERANCES.f32Kernel, label);
      }
    }
    const allForms = ["x-quad4_y-quad4", "x-texels_y-lanes"];
    assert.deepEqual([...forms].sort(), allForms.map((xy) => `_w-texels_${xy}`).sort());
    assert.ok(tiles.size >= 3, `tiles ${[...tiles]}`);
    const repackKinds = [
      "transposed_weights_f32_texels_scalar",
      "transposed_weights_f32_texels_vec4",
    ];
    for (
      const kind of [
        ...repackKinds,
        "shifted_input_f32_texels_pre-none",
        "shifted_input_f32_texels_pre-bn_relu",
      ]
    ) {
      assert.ok([...repacks].some((k) => k.includes(kind)), `${kind} in ${[...repacks]}`);
    }
  },
);

gpuTest(
  "Conv register and Winograd kernels read operand copies over several texture rows, or from buffers where no texture fits",
  async ({ gpu, cache }) => {
    const device = asAdapter(gpu, true);
    // Weight copies: transposed 3 blocks x 4 x 603 depths = 7236 texels (3 rows), Winograd 16
    // positions x 3 blocks x 4 x 130 channels = 24960 (7 rows). Input copies: 2211 texels for
    // the strided conv, 6240 for Winograd (3 rows each).
    const geometries: { x: number[]; w: number[]; attrs: Node["attrs"] }[] = [
      { x: [1, 67, 9, 7], w: [45, 67, 3, 3], attrs: { pads: [1, 1, 1, 1], strides: [1, 2] } },
      { x: [1, 130, 6, 5], w: [33, 130, 3, 3], attrs: { pads: [1, 0, 1, 1] } },
    ];
    for (const [i, geo] of geometries.entries()) {
      for (const f of [PLAIN, ALL_EXTRAS]) {
        const inputs = fusedInputs(760 + i, geo.x, geo.w, geo.attrs, f);
        const node = fusedNode(geo.attrs, f);
        const types = inputs.map((t) => t && { dtype: t.dtype, shape: t.shape });
        const [expected] = conv.reference(node, inputs);
        const textureRows: [number, boolean, boolean][] = [
          [device.device.limits.maxTextureDimension2D, true, true],
          [3, i === 0, true],
          [2, false, false],
        ];
        for (const [rows, weightsInTexture, inputInTexture] of textureRows) {
          const plan = conv.gpu!({
            node,
            inputs: types,
            outputs: conv.inferTypes(node, types),
            limits: withTextureRows(device, rows),
            features: device.features,
            isFallbackAdapter: true,
            storage: "f32",
          });
          const [weights] = plan.derived!;
          const label = `x [${geo.x}] w [${geo.w}], ${caseName(f)}, ${rows} texture rows`;
          assert.equal(weights.texture, weightsInTexture ? "rgba32float" : undefined, label);
          if (weights.texture) assert.ok(weights.bytes / 16 > 4096, label);
          assert.equal(weights.program.key.includes("texels"), weightsInTexture, label);
          const gemm = plan.programs.find((p) => /^conv_(mm|winograd_gemm)_/.test(p.key))!;
          assert.equal(gemm.key.includes("w-texels"), weightsInTexture, `${label}: ${gemm.key}`);
          const input = plan.scratchTextures![0];
          assert.equal(input, inputInTexture ? "rgba32float" : undefined, label);
          assert.equal(gemm.key.includes("x-texels"), input !== undefined, `${label}: ${gemm.key}`);
          const [actual] = await runNodeOnGpu(device, node, inputs, cache, "f32", plan);
          assertClose(actual.data, expected.data, TOLERANCES.f32Kernel, label);
        }
      }
    }
  },
);

/**
 * Winograd geometries: output sizes that leave partial 2x2 tiles and a last column quad
 * partly past the tiles, batch 2, asymmetric and SAME padding, a single output (VALID), output
 * channels past a 16-channel block, exactly one 16-channel block.
 */
const WINOGRAD_GEOMETRIES: { x: number[]; w: number[]; attrs: Node["attrs"] }[] = [
  { x: [1, 5, 17, 15], w: [7, 5, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  { x: [2, 3, 9, 6], w: [70, 3, 3, 3], attrs: { pads: [0, 2, 1, 0] } },
  { x: [1, 6, 3, 3], w: [4, 6, 3, 3], attrs: {} },
  { x: [1, 2, 5, 5], w: [3, 2, 3, 3], attrs: { auto_pad: "SAME_UPPER" } },
  { x: [2, 2, 8, 10], w: [16, 2, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  // F(4x4) tile rows stored as vec4s (width 12), the last tile row cut (height 7), 2 images.
  { x: [2, 3, 7, 12], w: [9, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
];

gpuTest(
  "Conv Winograd F(2x2) and F(4x4) on the CPU-like adapter match the reference, in f32 under either storage",
  async ({ gpu, cache }) => {
    const device = asAdapter(gpu, true);
    for (const [i, geo] of WINOGRAD_GEOMETRIES.entries()) {
      for (const f of [PLAIN, ALL_EXTRAS]) {
        const inputs = fusedInputs(800 + i, geo.x, geo.w, geo.attrs, f);
        const node = fusedNode(geo.attrs, f);
        const types = inputs.map((t) => t && { dtype: t.dtype, shape: t.shape });
        const label = `x [${geo.x}] w [${geo.w}], ${caseName(f)}`;
        const { programs, derived } = planNodeOnGpu(device, node, types).plan;
        assert.deepEqual(
          [...derived!.map((d) => d.program), ...programs].map((p) => p.key.split("_")[2]),
          ["weights", "input", "gemm", "output"],
          label,
        );
        const [expected] = conv.reference(node, inputs);
        for (const alg of [WINOGRAD_F2, WINOGRAD_F4]) {
          const geometry = convGeometry(node, types);
          const variant = winogradPlan(geometry, device.device.limits, alg);
          assert.equal(
            variant.programs.at(-1)!.key.includes("_quad4"),
            alg === WINOGRAD_F4 && geometry.ow % 4 === 0,
            `${label}, ${alg.name}: vec4 tile rows`,
          );
          const [actual] = await runNodeOnGpu(device, node, inputs, cache, "f32", variant);
          assertClose(actual.data, expected.data, TOLERANCES.f32Kernel, `${label}, ${alg.name}`);
        }
      }
    }
    const g = WINOGRAD_GEOMETRIES[0];
    const types = [f32(g.x), f32(g.w)];
    const { programs } = planNodeOnGpu(asAdapter(gpu, false), convNode(g.attrs), types).plan;
    assert.ok(programs.every((p) => !p.key.includes("winograd")), "Winograd on a real GPU");
  },
);

Deno.test("Conv Winograd is F(4x4) where the cost model predicts it cheaper, F(2x2) on small maps", () => {
  const chosen = [[64, 56], [128, 28], [256, 14], [512, 7]].map(([c, size]) => {
    const types = [f32([1, c, size, size]), f32([c, c, 3, 3])];
    return winogradAlgorithmFor(convGeometry(convNode({ pads: [1, 1, 1, 1] }), types)).name;
  });
  assert.deepEqual(chosen, ["f4", "f4", "f4", "f2"]);
});

/**
 * Per output of a fused case, the sum over its products of |pre(x)| * |w|: the scale of the
 * error that rounding both factors to f16 may add.
 */
function productMagnitudes(
  attrs: Node["attrs"],
  f: FusedCase,
  inputs: (Tensor | undefined)[],
): Float32Array {
  const [x, w, , , scale, shift] = inputs;
  const pads = (attrs.pads as number[] | undefined) ?? [0, 0, 0, 0];
  const magnitudes = transformAndPad(x!, (v, ch) => {
    if (f.pre === "none") return Math.abs(v);
    const t = v * scale!.data[ch] + shift!.data[ch];
    return Math.abs(f.pre === "bn_relu" ? Math.max(t, 0) : t);
  }, pads);
  const absW = { ...w!, data: w!.data.map(Math.abs) };
  const noExtras = Object.fromEntries(
    Object.entries(attrs).filter(([name]) => !["pre_activation", "activation"].includes(name)),
  );
  const [y] = conv.reference(convNode({ ...noExtras, pads: [0, 0, 0, 0] }), [magnitudes, absW]);
  return y.data as Float32Array;
}

gpuTest(
  "Conv GPU kernels with f16 storage stay within f16's rounding bound, in half the bytes",
  async ({ gpu, cache }) => {
    const geometries = [
      ...KERNEL_GEOMETRIES.filter((geo) => geo.w[1] > 1 && !isWinograd(geo, geo.registers)),
      ...REGISTER_GEOMETRIES.map((geo) => ({ ...geo, registers: true })),
    ];
    const kinds = new Set<string>();
    for (const [i, geo] of geometries.entries()) {
      const device = asAdapter(gpu, geo.registers);
      for (const f of [PLAIN, ALL_EXTRAS]) {
        const inputs = fusedInputs(900 + i, geo.x, geo.w, geo.attrs, f);
        const node = fusedNode(geo.attrs, f);
        const types = inputs.map((t) => t && { dtype: t.dtype, shape: t.shape });
        const plans = (["f32", "f16"] as const).map((s) => planNodeOnGpu(device, node, types, s));
        const copies = plans.map(({ plan }) => [
          ...(plan.derived ?? []).map((d) => d.bytes),
          ...(plan.scratchBytes ?? []),
        ]);
        // The register kernel's copies, halved; the workgroup kernel's f16 transposed weights
        // (it reads W itself in f32): 16-channel blocks of 2 bytes per weight.
        const [m, cg, kh, kw] = geo.w;
        const group = geo.x[1] / cg;
        const transposed = group * Math.ceil(m / group / 16) * 16 * cg * kh * kw * 2;
        assert.deepEqual(
          copies[1],
          geo.registers ? copies[0].map((bytes) => bytes / 2) : [transposed],
          `x [${geo.x}] w [${geo.w}]`,
        );
        const { derived, programs } = plans[1].plan;
        assert.match(programs[programs.length - 1].key, /_f16_w-(quad4|texels)_/);
        for (const p of [...(derived ?? []).map((d) => d.program), ...programs.slice(0, -1)]) {
          kinds.add(p.key.replace(/_pre-.*|_wg.*/, ""));
        }
        const [half] = await runNodeOnGpu(device, node, inputs, cache, "f16");
        const [full] = await runNodeOnGpu(device, node, inputs, cache, "f32");
        const [expected] = conv.reference(node, inputs);
        const bounds = productMagnitudes(geo.attrs, f, inputs).map((m) =>
          TOLERANCES.f32Kernel.atol + F16_PRODUCT_ERROR * m
        );
        const label = `x [${geo.x}] w [${geo.w}], ${caseName(f)}, registers ${geo.registers}`;
        assertWithinBounds(half.data, expected.data, bounds, label);
        assert.ok(relativeL2(half.data, full.data) > 0, `${label}: f16 storage changed nothing`);
      }
    }
    assert.deepEqual([...kinds].sort(), [
      "conv_shifted_input_f16_texels",
      "conv_transposed_weights_f16_scalar",
      "conv_transposed_weights_f16_texels_scalar",
      "conv_transposed_weights_f16_texels_vec4",
    ]);
  },
);

gpuTest(
  "Conv GPU kernels with f16 storage clamp weights and inputs beyond f16's range to +-65504",
  async ({ gpu, cache }) => {
    const attrs = { pads: [1, 1, 1, 1], strides: [1, 2] };
    for (const registers of [false, true]) {
      const inputs = fusedInputs(950, [1, 4, 5, 6], [4, 4, 3, 3], attrs, PLAIN);
      const [x, w] = inputs as Tensor[];
      w.data[7] = 1e6;
      w.data[20] = -3e5;
      x.data[11] = 7e4;
      const [half] = await runNodeOnGpu(
        asAdapter(gpu, registers),
        fusedNode(attrs, PLAIN),
        inputs,
        cache,
        "f16",
      );
      const clamp = (t: Tensor) => ({
        ...t,
        data: t.data.map((v) => Math.min(Math.max(v, -65504), 65504)),
      });
      // The register kernel stores its input copy as f16 too; the workgroup kernel reads X.
      const clamped = [registers ? clamp(x) : x, clamp(w)];
      const [expected] = conv.reference(fusedNode(attrs, PLAIN), clamped);
      const bounds = productMagnitudes(attrs, PLAIN, clamped).map((m) =>
        TOLERANCES.f32Kernel.atol + F16_PRODUCT_ERROR * m
      );
      assertWithinBounds(half.data, expected.data, bounds, `registers ${registers}`);
    }
  },
);

gpuTest(
  "Conv GPU kernels with f16 storage round each stored value to the nearest f16",
  async ({ gpu, cache }) => {
    // A 3x3 stride-2 conv on the CPU-like adapter (the register kernel on a shifted copy of its
    // input in f16 texels) whose weights are 1 at channel 0's centre tap, 0 elsewhere: every
    // output is a centre tap of channel 0 as stored. 3 * 2^-12 past 1 lies between two f16
    // values; truncation, which lavapipe's own conversion to rgba16float does, would give 1.
    const attrs = { strides: [2, 2], pads: [1, 1, 1, 1] };
    const rand = seededRandom(960);
    const x = makeTensor(
      "f32",
      [1, 4, 8, 10],
      Array.from({ length: 320 }, (_, i) => i === 0 ? 1 + 3 * 2 ** -12 : (rand() - 0.5) * 64),
    );
    const w = makeTensor(
      "f32",
      [8, 4, 3, 3],
      Array.from({ length: 288 }, (_, i) => +(i % 36 === 4)),
    );
    const [half] = await runNodeOnGpu(asAdapter(gpu, true), convNode(attrs), [x, w], cache, "f16");
    const [expected] = conv.reference(convNode(attrs), [
      { ...x, data: x.data.map(Math.f16round) },
      w,
    ]);
    assert.equal(half.data[0], 1 + 2 ** -10);
    assertClose(half.data, expected.data, TOLERANCES.exact, "f16 copies");
  },
);

gpuTest(
  "Conv GPU kernels split more than 65535 workgroups over a 2-D grid",
  async ({ gpu, cache }) => {
    // 70001 groups of 2 input channels: one small workgroup each.
    const attrs = { group: 70001 };
    const inputs = fusedInputs(600, [1, 140002, 1, 2], [70001, 2, 1, 1], attrs, PLAIN);
    const node = fusedNode(attrs, PLAIN);
    const types = inputs.map((t) => t && { dtype: t.dtype, shape: t.shape });
    for (const kind of KINDS) {
      const device = asAdapter(gpu, kind.registers);
      const { programs } = planNodeOnGpu(device, node, types).plan;
      const [x, y] = programs[programs.length - 1].workgroups;
      const max = gpu.device.limits.maxComputeWorkgroupsPerDimension;
      assert.ok(y > 1 && x <= max, `${kind.name}: grid ${x}x${y}`);
      const [actual] = await runNodeOnGpu(device, node, inputs, cache);
      const [expected] = conv.reference(node, inputs);
      assertClose(actual.data, expected.data, TOLERANCES.f32Kernel, `${kind.name}: 70001 groups`);
    }
  },
);
