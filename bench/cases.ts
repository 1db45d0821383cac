/**
 * The kernel case table: the real layer shapes of ResNet-18/50 (and MobileNetV2's depthwise
 * convs) at 224x224, batch 1, as resin runs them after fusion (Conv with its bias and ReLU or
 * ReLU6 epilogue, the bottleneck's expanding 1x1 conv with the residual added). The kernel
 * benchmarks time these cases; kernel tests can run the same list against the references.
 *
 * @example
 * ```ts
 * for (const c of KERNEL_CASES.filter((c) => c.family === "conv 3x3")) {
 *   const inputs = caseInputs(c, 1);
 *   const [y] = opFor(c.node).reference(c.node, inputs);
 * }
 * ```
 *
 * @module
 */

import {
  DTYPE_BYTES,
  type Node,
  sizeOf,
  type Tensor,
  type TensorType,
} from "../src/graph/types.ts";
import { opFor } from "../src/ops/registry.ts";
import { randomTensor, seededRandom } from "../src/testing/random.ts";

/** Kernel families: each is one benchmark group. */
export const KERNEL_FAMILIES = [
  "conv 7x7/2",
  "conv 3x3",
  "conv 1x1",
  "conv depthwise 3x3",
  "int8 conv",
  "gemm",
  "max pool 3x3/2",
  "global average pool",
] as const;

/** One kernel family. */
export type KernelFamily = typeof KERNEL_FAMILIES[number];

/** One benchmarked (and testable) node with its input types. */
export interface KernelCase {
  /** The family (benchmark group). */
  family: KernelFamily;
  /** Short name, unique in the table, e.g. "3x3 64->128 @56 s2". */
  name: string;
  /** The network layer the shape comes from. */
  source: string;
  /** The node, input names `x`, `w`, `b`, `z` (`""` when absent). */
  node: Node;
  /** Input types in the node's input order (`undefined` where absent). */
  inputs: (TensorType | undefined)[];
  /**
   * Arithmetic operations of one run: 2 per multiply-add of the nominal work (padding taps
   * included); 1 per compared or summed element for pooling.
   */
  ops: number;
  /** Arithmetic kind: int8 cases are measured against the `dot4I8Packed` peak. */
  arithmetic: "f32" | "int8";
  /** Value range [lo, hi) of each input where it is not [-1, 1) (`caseInputs`). */
  ranges?: ([number, number] | undefined)[];
}

const f32 = (shape: number[]): TensorType => ({ dtype: "f32", shape });

/** The shape of a square conv layer and its fused epilogue. */
interface ConvShape {
  /** Input channels, input height = width. */
  c: number;
  size: number;
  /** Output channels, kernel size, stride. */
  m: number;
  k: number;
  stride: number;
  /** Groups; `c` for depthwise. */
  group?: number;
  /** Fused activation: ReLU (ResNet), ReLU6 (MobileNetV2) or none (projection shortcuts). */
  act: "relu" | "relu6" | "none";
  /** Whether the residual is added in the epilogue (the bottleneck's expanding conv). */
  residual?: boolean;
}

/** A Conv case with "same" padding (k / 2 on every side), a bias and the given epilogue. */
function convCase(family: KernelFamily, source: string, s: ConvShape): KernelCase {
  const group = s.group ?? 1;
  const pad = Math.floor(s.k / 2);
  const out = Math.floor((s.size + 2 * pad - s.k) / s.stride) + 1;
  const attrs: Node["attrs"] = {
    kernel_shape: [s.k, s.k],
    strides: [s.stride, s.stride],
    pads: [pad, pad, pad, pad],
    group,
  };
  if (s.act === "relu") attrs.activation = "relu";
  if (s.act === "relu6") Object.assign(attrs, { activation: "clip", clip_min: 0, clip_max: 6 });
  const kind = group === s.c ? `dw${s.k}x${s.k} ${s.c}` : `${s.k}x${s.k} ${s.c}->${s.m}`;
  return {
    family,
    name: `${kind} @${s.size} s${s.stride}`,
    source,
    node: {
      name: `conv ${kind} @${s.size} s${s.stride}`,
      op: "Conv",
      inputs: ["x", "w", "b", s.residual ? "z" : ""],
      outputs: ["y"],
      attrs,
    },
    inputs: [
      f32([1, s.c, s.size, s.size]),
      f32([s.m, s.c / group, s.k, s.k]),
      f32([s.m]),
      s.residual ? f32([1, s.m, out, out]) : undefined,
    ],
    ops: 2 * s.m * out * out * (s.c / group) * s.k * s.k,
    arithmetic: "f32",
  };
}

/**
 * An int8 conv as resin runs ResNet-50 int8 (QLinearConvNhwc, the lowered QLinearConv): u8
 * NHWC4 activations, "same" padding, i8 OHWI weights, a bias and a requantization multiplier
 * per output channel, and multipliers that keep most outputs inside the u8 range.
 */
function int8ConvCase(source: string, s: Omit<ConvShape, "act" | "group" | "residual">) {
  const pad = Math.floor(s.k / 2);
  const out = Math.floor((s.size + 2 * pad - s.k) / s.stride) + 1;
  const cp = Math.ceil(s.c / 4) * 4;
  const kind = `${s.k}x${s.k} ${s.c}->${s.m}`;
  const c: KernelCase = {
    family: "int8 conv",
    name: `u8 ${kind} @${s.size} s${s.stride}`,
    source,
    node: {
      name: `int8 conv ${kind} @${s.size} s${s.stride}`,
      op: "QLinearConvNhwc",
      inputs: ["x", "w", "b", "s"],
      outputs: ["y"],
      attrs: {
        kernel_shape: [s.k, s.k],
        strides: [s.stride, s.stride],
        pads: [pad, pad, pad, pad],
        x_pad: 3,
        y_zero_point: 128,
      },
    },
    inputs: [
      { dtype: "u8", shape: [1, s.size, s.size, cp] },
      { dtype: "i8", shape: [s.m, s.k, s.k, cp] },
      { dtype: "i32", shape: [s.m] },
      f32([s.m]),
    ],
    ops: 2 * s.m * out * out * cp * s.k * s.k,
    arithmetic: "int8",
    ranges: [[0, 256], [-128, 128], [-5000, 5000], [
      0.5 / (s.k * Math.sqrt(cp)) / 74,
      1 / (s.k * Math.sqrt(cp)) / 74,
    ]],
  };
  return c;
}

/** A classifier Gemm: features [1, k] times the transposed weight [n, k], plus bias [n]. */
function gemmCase(source: string, k: number, n: number): KernelCase {
  return {
    family: "gemm",
    name: `${k}->${n}`,
    source,
    node: {
      name: `gemm ${k}->${n}`,
      op: "Gemm",
      inputs: ["x", "w", "b"],
      outputs: ["y"],
      attrs: { transB: 1 },
    },
    inputs: [f32([1, k]), f32([n, k]), f32([n])],
    ops: 2 * k * n,
    arithmetic: "f32",
  };
}

/** ResNet's stem max pool, 3x3 stride 2 pad 1, on [1, c, size, size]. */
function maxPoolCase(source: string, c: number, size: number): KernelCase {
  const out = Math.floor((size + 2 - 3) / 2) + 1;
  return {
    family: "max pool 3x3/2",
    name: `${c} @${size}`,
    source,
    node: {
      name: `maxpool ${c} @${size}`,
      op: "MaxPool",
      inputs: ["x"],
      outputs: ["y"],
      attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    },
    inputs: [f32([1, c, size, size])],
    ops: c * out * out * 9,
    arithmetic: "f32",
  };
}

/** The global average pool before the classifier, on [1, c, size, size]. */
function globalPoolCase(source: string, c: number, size: number): KernelCase {
  return {
    family: "global average pool",
    name: `${c} @${size}`,
    source,
    node: {
      name: `gap ${c} @${size}`,
      op: "GlobalAveragePool",
      inputs: ["x"],
      outputs: ["y"],
      attrs: {},
    },
    inputs: [f32([1, c, size, size])],
    ops: c * size * size,
    arithmetic: "f32",
  };
}

/** Every kernel case, grouped by family in `KERNEL_FAMILIES` order. */
export const KERNEL_CASES: readonly KernelCase[] = [
  convCase("conv 7x7/2", "ResNet-18/50 stem", {
    c: 3,
    size: 224,
    m: 64,
    k: 7,
    stride: 2,
    act: "relu",
  }),
  ...([[64, 56], [128, 28], [256, 14], [512, 7]] as const).map(([c, size], i) =>
    convCase("conv 3x3", `ResNet-18/50 stage ${i + 1}`, {
      c,
      size,
      m: c,
      k: 3,
      stride: 1,
      act: "relu",
    })
  ),
  ...([[64, 56], [128, 28], [256, 14]] as const).map(([c, size], i) =>
    convCase("conv 3x3", `ResNet-18 stage ${i + 2}, first block`, {
      c,
      size,
      m: 2 * c,
      k: 3,
      stride: 2,
      act: "relu",
    })
  ),
  ...([[64, 56], [128, 28], [256, 14], [512, 7]] as const).flatMap(([width, size], i) => [
    convCase("conv 1x1", `ResNet-50 stage ${i + 1}, bottleneck reduce`, {
      c: 4 * width,
      size,
      m: width,
      k: 1,
      stride: 1,
      act: "relu",
    }),
    convCase("conv 1x1", `ResNet-50 stage ${i + 1}, bottleneck expand + residual`, {
      c: width,
      size,
      m: 4 * width,
      k: 1,
      stride: 1,
      act: "relu",
      residual: true,
    }),
  ]),
  ...([[256, 56], [512, 28], [1024, 14]] as const).flatMap(([c, size], i) => [
    convCase("conv 1x1", `ResNet-50 v1 stage ${i + 2}, strided reduce`, {
      c,
      size,
      m: c / 2,
      k: 1,
      stride: 2,
      act: "relu",
    }),
    convCase("conv 1x1", `ResNet-50 stage ${i + 2}, projection shortcut`, {
      c,
      size,
      m: 2 * c,
      k: 1,
      stride: 2,
      act: "none",
    }),
  ]),
  ...([
    [32, 112, 1],
    [96, 112, 2],
    [144, 56, 1],
    [144, 56, 2],
    [192, 28, 1],
    [192, 28, 2],
    [384, 14, 1],
    [576, 14, 1],
    [576, 14, 2],
    [960, 7, 1],
  ] as const).map(([c, size, stride]) =>
    convCase("conv depthwise 3x3", "MobileNetV2 inverted residual", {
      c,
      size,
      m: c,
      k: 3,
      stride,
      group: c,
      act: "relu6",
    })
  ),
  int8ConvCase("ResNet-50 int8 stem", { c: 3, size: 224, m: 64, k: 7, stride: 2 }),
  ...([[64, 56], [128, 28], [256, 14], [512, 7]] as const).map(([c, size], i) =>
    int8ConvCase(`ResNet-50 int8 stage ${i + 1}`, { c, size, m: c, k: 3, stride: 1 })
  ),
  int8ConvCase("ResNet-50 int8 stage 1, bottleneck reduce", {
    c: 256,
    size: 56,
    m: 64,
    k: 1,
    stride: 1,
  }),
  int8ConvCase("ResNet-50 int8 stage 1, bottleneck expand", {
    c: 64,
    size: 56,
    m: 256,
    k: 1,
    stride: 1,
  }),
  int8ConvCase("ResNet-50 int8 stage 4, projection shortcut", {
    c: 1024,
    size: 14,
    m: 2048,
    k: 1,
    stride: 2,
  }),
  gemmCase("ResNet-50 classifier", 2048, 1000),
  gemmCase("ResNet-18 classifier", 512, 1000),
  maxPoolCase("ResNet-18/50 stem", 64, 112),
  globalPoolCase("ResNet-50 head", 2048, 7),
  globalPoolCase("ResNet-18 head", 512, 7),
];

/** Output types of `c`, from its op's type inference. */
export function caseOutputs(c: KernelCase): TensorType[] {
  return opFor(c.node).inferTypes(c.node, c.inputs);
}

/** Compulsory memory traffic of one run: every input read once and every output written once. */
export function caseBytes(c: KernelCase): number {
  const types = [...c.inputs.filter((t) => t !== undefined), ...caseOutputs(c)];
  return types.reduce((sum, t) => sum + sizeOf(t.shape) * DTYPE_BYTES[t.dtype], 0);
}

/**
 * Seeded uniform inputs for `c` in [-1, 1) or the case's ranges (`undefined` where the node
 * has no input).
 */
export function caseInputs(c: KernelCase, seed: number): (Tensor | undefined)[] {
  const rand = seededRandom(seed);
  return c.inputs.map((t, i) =>
    t && randomTensor(rand, t.dtype, t.shape, ...(c.ranges?.[i] ?? []))
  );
}
