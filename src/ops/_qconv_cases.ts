/**
 * Test cases shared by the QLinearConv tests: the configurations every int8 convolution is
 * checked on, their seeded operands and nodes.
 *
 * @module
 */

import { type DType, makeTensor, type Node, type Tensor } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { scalar, vector } from "./_int8_testing.ts";

/** One QLinearConv configuration. */
export interface QConvCase {
  /** Label. */
  name: string;
  /** Activation and weight dtypes. */
  x: "u8" | "i8";
  w: "u8" | "i8";
  /** X shape [N, C, H, W]; W is [M, C / group, kh, kw]. */
  shape: [number, number, number, number];
  m: number;
  kernel: [number, number];
  group?: number;
  strides?: [number, number];
  pads?: [number, number, number, number];
  dilations?: [number, number];
  /** Per output channel scales (and zero points, when nonzero). */
  perChannel?: boolean;
  /** Nonzero weight zero point(s). */
  weightZeroPoint?: boolean;
  bias?: boolean;
  /** Power-of-two scales: the multiplier is 0.5 or 0.25, so many results are exact ties. */
  ties?: boolean;
}

/** The conv cases every int8 conv implementation is checked on. */
export const QCONV_CASES: QConvCase[] = [
  {
    name: "u8 x s8 w 3x3 pad1 bias",
    x: "u8",
    w: "i8",
    shape: [1, 5, 7, 6],
    m: 6,
    kernel: [3, 3],
    pads: [1, 1, 1, 1],
    bias: true,
  },
  {
    name: "per-channel stride 2 asym pads",
    x: "u8",
    w: "i8",
    shape: [2, 3, 9, 11],
    m: 5,
    kernel: [3, 3],
    strides: [2, 2],
    pads: [0, 1, 2, 1],
    perChannel: true,
    bias: true,
  },
  {
    name: "7x7 stride 2 C=3",
    x: "u8",
    w: "i8",
    shape: [1, 3, 15, 13],
    m: 4,
    kernel: [7, 7],
    strides: [2, 2],
    pads: [3, 3, 3, 3],
    perChannel: true,
  },
  {
    name: "depthwise 3x3",
    x: "u8",
    w: "i8",
    shape: [1, 6, 8, 7],
    m: 6,
    kernel: [3, 3],
    group: 6,
    pads: [1, 1, 1, 1],
    perChannel: true,
    bias: true,
  },
  {
    name: "depthwise stride 2, C=7",
    x: "u8",
    w: "i8",
    shape: [1, 7, 9, 9],
    m: 7,
    kernel: [3, 3],
    group: 7,
    strides: [2, 2],
    pads: [1, 1, 1, 1],
    bias: true,
  },
  {
    name: "depth multiplier 2",
    x: "u8",
    w: "i8",
    shape: [1, 3, 6, 5],
    m: 6,
    kernel: [3, 3],
    group: 3,
    pads: [1, 1, 1, 1],
  },
  {
    name: "grouped 2x3 channels",
    x: "u8",
    w: "i8",
    shape: [1, 6, 5, 5],
    m: 4,
    kernel: [3, 3],
    group: 2,
    pads: [1, 1, 1, 1],
    bias: true,
  },
  { name: "1x1 no pad", x: "u8", w: "i8", shape: [2, 9, 4, 3], m: 10, kernel: [1, 1], bias: true },
  {
    name: "dilation 2",
    x: "u8",
    w: "i8",
    shape: [1, 4, 9, 8],
    m: 3,
    kernel: [3, 3],
    dilations: [2, 2],
    pads: [2, 2, 2, 2],
  },
  {
    name: "u8 weights with zero point",
    x: "u8",
    w: "u8",
    shape: [1, 5, 6, 6],
    m: 3,
    kernel: [3, 3],
    pads: [1, 1, 1, 1],
    weightZeroPoint: true,
    bias: true,
  },
  {
    name: "s8 activations",
    x: "i8",
    w: "i8",
    shape: [1, 5, 6, 7],
    m: 6,
    kernel: [3, 3],
    pads: [1, 1, 1, 1],
    perChannel: true,
    bias: true,
  },
  {
    name: "s8 depthwise",
    x: "i8",
    w: "i8",
    shape: [1, 5, 6, 7],
    m: 5,
    kernel: [3, 3],
    group: 5,
    pads: [1, 1, 1, 1],
    bias: true,
  },
  {
    name: "ties",
    x: "u8",
    w: "i8",
    shape: [1, 4, 6, 5],
    m: 5,
    kernel: [3, 3],
    pads: [1, 1, 1, 1],
    ties: true,
    bias: true,
  },
  {
    // 3x3 stride 1 with whole chunks of 8 channels: the CPU path's integer Winograd, with
    // partial 2x2 tiles (odd output sizes), batch 2 and per-channel multipliers.
    name: "Winograd-shaped u8 C=16 7x9",
    x: "u8",
    w: "i8",
    shape: [2, 16, 7, 9],
    m: 12,
    kernel: [3, 3],
    pads: [1, 1, 1, 1],
    perChannel: true,
    bias: true,
  },
  {
    name: "Winograd-shaped s8 C=40 no padding",
    x: "i8",
    w: "i8",
    shape: [1, 40, 10, 7],
    m: 9,
    kernel: [3, 3],
    bias: true,
  },
  {
    name: "Winograd-shaped u8 C=64 asym pads ties",
    x: "u8",
    w: "i8",
    shape: [1, 64, 6, 5],
    m: 8,
    kernel: [3, 3],
    pads: [0, 1, 2, 0],
    ties: true,
    bias: true,
  },
  {
    // 9 * 132 / 2 = 594 depth pairs: two depth blocks of the WebAssembly product, a half
    // chunk of 8 channels per tap, 63 pixels over many panels, 20 output channels.
    name: "wide 3x3 C=132",
    x: "u8",
    w: "i8",
    shape: [1, 132, 7, 9],
    m: 20,
    kernel: [3, 3],
    pads: [1, 1, 1, 1],
    perChannel: true,
    bias: true,
  },
  {
    name: "u8 wide stride 2 with weight zero points",
    x: "u8",
    w: "u8",
    shape: [2, 24, 9, 8],
    m: 13,
    kernel: [3, 3],
    strides: [2, 2],
    pads: [1, 0, 1, 1],
    weightZeroPoint: true,
    bias: true,
  },
  {
    name: "depthwise ties",
    x: "u8",
    w: "i8",
    shape: [1, 4, 6, 5],
    m: 4,
    kernel: [3, 3],
    group: 4,
    pads: [1, 1, 1, 1],
    ties: true,
  },
];

const ZERO_POINTS: Record<DType, number> = { u8: 118, i8: -9, f32: 0, f16: 0, i32: 0 };

/** The operands of a case, in QLinearConv order (B last, absent when the case has none). */
export function qconvOperands(c: QConvCase, seed: number): (Tensor | undefined)[] {
  const rand = seededRandom(seed);
  const group = c.group ?? 1;
  const [, ch] = c.shape;
  const k = (ch / group) * c.kernel[0] * c.kernel[1];
  // Ties need small accumulators: activations near the zero point, small weights.
  const xzp = ZERO_POINTS[c.x];
  const xRange: [number, number] = c.ties
    ? [xzp - 6, xzp + 7]
    : c.x === "u8"
    ? [0, 256]
    : [-128, 128];
  const wRange: [number, number] = c.ties ? [-3, 4] : c.w === "u8" ? [0, 256] : [-128, 128];
  const x = randomTensor(rand, c.x, c.shape, ...xRange);
  const w = randomTensor(rand, c.w, [c.m, ch / group, ...c.kernel], ...wRange);
  const xs = Math.fround(c.ties ? 0.5 : 0.0186);
  const wsOf = (i: number) =>
    Math.fround(c.ties ? 0.5 * (i % 2 ? 1 : 0.5) : 0.002 + 0.003 * rand());
  const ws = c.perChannel || c.ties
    ? vector("f32", Array.from({ length: c.m }, (_, i) => wsOf(i)))
    : scalar("f32", wsOf(0));
  // Spreads the outputs over the 8-bit range: sqrt(K) * 74 * 74 is the accumulator's spread.
  const ys = Math.fround(c.ties ? 0.5 : xs * 0.0035 * Math.sqrt(k) * 74 * 74 / 60);
  const wzp = c.weightZeroPoint ? 131 : 0;
  const wz = c.perChannel ? vector(c.w, new Array(c.m).fill(wzp)) : scalar(c.w, wzp);
  const bias = c.bias
    ? makeTensor(
      "i32",
      [c.m],
      Array.from({ length: c.m }, () => Math.floor((rand() - 0.5) * (c.ties ? 40 : 40000))),
    )
    : undefined;
  return [
    x,
    scalar("f32", xs),
    scalar(c.x, ZERO_POINTS[c.x]),
    w,
    ws,
    wz,
    scalar("f32", ys),
    scalar(c.x, ZERO_POINTS[c.x] + 3),
    bias,
  ];
}

/** The QLinearConv node of a case. */
export function qconvNode(c: QConvCase): Node {
  const attrs: Node["attrs"] = { kernel_shape: c.kernel, group: c.group ?? 1 };
  if (c.strides) attrs.strides = c.strides;
  if (c.pads) attrs.pads = c.pads;
  if (c.dilations) attrs.dilations = c.dilations;
  const inputs = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"];
  if (c.bias) inputs.push("b");
  return { name: c.name, op: "QLinearConv", inputs, outputs: ["y"], attrs };
}
