/**
 * Test cases shared by the CPU Conv tests (conv_cpu_test.ts, src/wasm/wasm_conv_test.ts):
 * geometries chosen to reach every path of the WebAssembly conv, their fused variants, and
 * their seeded inputs.
 *
 * @module
 */

import type { Node, Tensor } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { conv } from "./conv.ts";

/** One Conv geometry: X [n, c, h, w], W [m, c/group, kh, kw] and the ONNX attributes. */
export interface ConvCpuCase {
  /** Label. */
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  attrs: Node["attrs"];
}

/**
 * Geometries by the path they take: 8 or 16 pixels a row (panels of one row, contiguous or
 * stride 2), rows that wrap inside a panel, padding on every side or none, a 1x1 conv with
 * nothing to stage, channels that fill f32x4 vectors better than the pixels (7x7 outputs: the
 * weights become the vector operand), groups, dilations, batch 2, a single output pixel.
 */
export const CONV_CPU_CASES: ConvCpuCase[] = [
  { name: "3x3 pad 1, 16 wide", x: [1, 5, 9, 16], w: [7, 5, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  { name: "1x1, 13x13 (rows wrap)", x: [1, 6, 13, 13], w: [9, 6, 1, 1], attrs: {} },
  {
    name: "7x7 stride 2 pad 3, 16 wide output",
    x: [1, 3, 31, 32],
    w: [9, 3, 7, 7],
    attrs: { pads: [3, 3, 3, 3], strides: [2, 2] },
  },
  { name: "1x1 stride 2", x: [1, 6, 20, 34], w: [9, 6, 1, 1], attrs: { strides: [2, 2] } },
  {
    name: "3x3 pad 1 on 7x7, 16 channels, batch 2",
    x: [2, 6, 7, 7],
    w: [16, 6, 3, 3],
    attrs: { pads: [1, 1, 1, 1] },
  },
  {
    name: "group 3, dilation 2x1, asymmetric pads",
    x: [1, 6, 7, 9],
    w: [6, 2, 3, 3],
    attrs: { pads: [1, 2, 0, 1], group: 3, dilations: [2, 1] },
  },
  {
    name: "depthwise 3x3 stride 2, batch 2",
    x: [2, 5, 11, 10],
    w: [5, 1, 3, 3],
    attrs: { pads: [1, 1, 1, 1], group: 5, strides: [2, 2] },
  },
  { name: "VALID 3x2, bottom rows unread", x: [1, 4, 8, 9], w: [5, 4, 3, 2], attrs: {} },
  { name: "one output pixel", x: [1, 3, 3, 3], w: [4, 3, 3, 3], attrs: {} },
];

/** Fused extras: pre-activation, bias, residual, activation. */
export interface ConvFusion {
  pre: "none" | "bn" | "bn_relu";
  bias: boolean;
  residual: boolean;
  act: "none" | "relu" | "clip";
}

/** No extras, and all of them. */
export const PLAIN: ConvFusion = { pre: "none", bias: false, residual: false, act: "none" };
export const ALL_EXTRAS: ConvFusion = { pre: "bn_relu", bias: true, residual: true, act: "relu" };

/** Every combination of fused extras. */
export const FUSIONS: ConvFusion[] = (["none", "bn", "bn_relu"] as const).flatMap((pre) =>
  [false, true].flatMap((bias) =>
    [false, true].flatMap((residual) =>
      (["none", "relu", "clip"] as const).map((act) => ({ pre, bias, residual, act }))
    )
  )
);

/** A label for a fusion. */
export function fusionName(f: ConvFusion): string {
  return `pre ${f.pre}, bias ${f.bias}, residual ${f.residual}, act ${f.act}`;
}

/** The Conv node of a case with fused extras. */
function convCpuNode(c: ConvCpuCase, f: ConvFusion): Node {
  const attrs: Node["attrs"] = { ...c.attrs, kernel_shape: [c.w[2], c.w[3]] };
  if (f.pre !== "none") attrs.pre_activation = f.pre;
  if (f.act !== "none") attrs.activation = f.act;
  if (f.act === "clip") Object.assign(attrs, { clip_min: -0.75, clip_max: 1.25 });
  const pre = f.pre !== "none";
  return {
    name: "conv0",
    op: "Conv",
    inputs: ["x", "w", f.bias ? "b" : "", f.residual ? "z" : "", pre ? "s" : "", pre ? "t" : ""],
    outputs: ["y"],
    attrs,
  };
}

/** A case's node with fused extras `f`, and its seeded inputs in Conv's slot order. */
export function convCpuSetup(
  seed: number,
  c: ConvCpuCase,
  f: ConvFusion,
): { node: Node; inputs: (Tensor | undefined)[] } {
  const rand = seededRandom(seed);
  const node = convCpuNode(c, f);
  const plain = convCpuNode(c, PLAIN);
  const [y] = conv.inferTypes(plain, [{ dtype: "f32", shape: c.x }, { dtype: "f32", shape: c.w }]);
  const pre = f.pre !== "none";
  return {
    node,
    inputs: [
      randomTensor(rand, "f32", c.x),
      randomTensor(rand, "f32", c.w),
      f.bias ? randomTensor(rand, "f32", [c.w[0]]) : undefined,
      f.residual ? randomTensor(rand, "f32", y.shape) : undefined,
      pre ? randomTensor(rand, "f32", [c.x[1]], 0.5, 1.5) : undefined,
      pre ? randomTensor(rand, "f32", [c.x[1]], -0.5, 0.5) : undefined,
    ],
  };
}
