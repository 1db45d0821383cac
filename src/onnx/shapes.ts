/**
 * Symbolic shape propagation during import, over nodes already normalised to the resin
 * vocabulary (opset-13 semantics, constant operands as attributes). A dim is a number or a
 * symbol: a `dim_param` such as `"N"`, or a fresh symbol for a dim nothing determines. Equal
 * symbols are equal dims, which is what lets `Shape -> ... -> Reshape` chains fold into a
 * Reshape attribute (a symbol copied from the input becomes `0`).
 *
 * Best effort: an op without a rule, or a rule missing an input shape, gives `undefined`.
 * The executor does full inference later with `OpDef.inferTypes`.
 *
 * @module
 */

import type { AttrValue, Node } from "../graph/types.ts";

/** A dimension: a number, or a symbol standing for one unknown number. */
export type SymDim = number | string;

/** A shape whose dims may be symbolic. */
export type SymShape = SymDim[];

/** Inputs of a shape rule: the node, its input shapes, and a maker of fresh symbols. */
interface RuleArgs {
  node: Node;
  inputs: (SymShape | undefined)[];
  unknown: () => string;
}

type Rule = (args: RuleArgs) => (SymShape | undefined)[] | undefined;

/**
 * The output shapes of `node` given its input shapes (`undefined` where unknown);
 * `unknown()` must return a symbol no other dim uses.
 */
export function inferShapes(
  node: Node,
  inputs: (SymShape | undefined)[],
  unknown: () => string,
): (SymShape | undefined)[] {
  const rule = RULES[node.op];
  const shapes = rule ? rule({ node, inputs, unknown }) : undefined;
  return node.outputs.map((_, i) => shapes?.[i]);
}

/** The product of `dims`: a number, the one symbol among 1s, or a fresh symbol. */
export function product(dims: readonly SymDim[], unknown: () => string): SymDim {
  const symbols = dims.filter((d) => typeof d === "string");
  const known = dims.reduce<number>((p, d) => (typeof d === "number" ? p * d : p), 1);
  if (symbols.length === 0) return known;
  if (symbols.length === 1 && known === 1) return symbols[0];
  return known === 0 ? 0 : unknown();
}

function ints(node: Node, name: string): number[] | undefined {
  const v = node.attrs[name];
  return Array.isArray(v) ? (v as number[]) : undefined;
}

function int(node: Node, name: string, fallback: number): number {
  const v: AttrValue | undefined = node.attrs[name];
  return typeof v === "number" ? v : fallback;
}

function axisOf(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

const same: Rule = ({ inputs }) => [inputs[0]];

function broadcast(shapes: (SymShape | undefined)[], unknown: () => string): SymShape | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: SymShape = [];
  for (let i = 0; i < rank; i++) {
    const dims = shapes.map((s) => s![s!.length - rank + i]).filter((d) =>
      d !== undefined && d !== 1
    );
    const distinct = [...new Set(dims)];
    const numbers = distinct.filter((d) => typeof d === "number");
    if (distinct.length === 0) out.push(1);
    else if (distinct.length === 1) out.push(distinct[0]);
    else if (numbers.length === 1) out.push(numbers[0]);
    else out.push(unknown());
  }
  return out;
}

/** Output size of a sliding window along one axis (ONNX Conv/pool formula). */
function windowOut(
  size: SymDim,
  kernel: number,
  stride: number,
  dilation: number,
  padBegin: number,
  padEnd: number,
  autoPad: string,
  ceilMode: boolean,
  unknown: () => string,
): SymDim {
  if (typeof size !== "number") return unknown();
  const span = (kernel - 1) * dilation + 1;
  if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") return Math.ceil(size / stride);
  const padded = autoPad === "VALID" ? size : size + padBegin + padEnd;
  const round = ceilMode ? Math.ceil : Math.floor;
  return round((padded - span) / stride) + 1;
}

function sliding(
  node: Node,
  x: SymShape,
  channels: SymDim,
  kernel: number[],
  unknown: () => string,
): SymShape {
  const n = kernel.length;
  const strides = ints(node, "strides") ?? kernel.map(() => 1);
  const dilations = ints(node, "dilations") ?? kernel.map(() => 1);
  const pads = ints(node, "pads") ?? new Array(2 * n).fill(0);
  const autoPad = typeof node.attrs.auto_pad === "string" ? node.attrs.auto_pad : "NOTSET";
  const ceilMode = int(node, "ceil_mode", 0) === 1;
  const spatial = kernel.map((k, i) =>
    windowOut(
      x[2 + i],
      k,
      strides[i],
      dilations[i],
      pads[i],
      pads[i + n],
      autoPad,
      ceilMode,
      unknown,
    )
  );
  return [x[0], channels, ...spatial];
}

function conv(xIndex: number, wIndex: number): Rule {
  return ({ node, inputs, unknown }) => {
    const x = inputs[xIndex];
    const w = inputs[wIndex];
    if (!x || !w) return undefined;
    const kernel = ints(node, "kernel_shape") ??
      w.slice(2).map((d) => (typeof d === "number" ? d : NaN));
    if (kernel.some(Number.isNaN)) return undefined;
    return [sliding(node, x, w[0], kernel, unknown)];
  };
}

const pool: Rule = ({ node, inputs, unknown }) => {
  const x = inputs[0];
  const kernel = ints(node, "kernel_shape");
  if (!x || !kernel) return undefined;
  return [sliding(node, x, x[1], kernel, unknown)];
};

const globalPool: Rule = ({ node, inputs }) => {
  const x = inputs[0];
  if (!x) return undefined;
  if (int(node, "channels_last", 0) === 1) {
    return [[x[0], ...x.slice(1, -1).map(() => 1), x[x.length - 1]]];
  }
  return [[x[0], x[1], ...x.slice(2).map(() => 1)]];
};

function gemm(bIndex: number): Rule {
  return ({ node, inputs }) => {
    const a = inputs[0];
    const b = inputs[bIndex];
    if (!a || !b) return undefined;
    const m = int(node, "transA", 0) ? a[1] : a[0];
    const n = int(node, "transB", 0) ? b[0] : b[1];
    return [[m, n]];
  };
}

function matmul(bIndex: number): Rule {
  return ({ inputs, unknown }) => {
    const a = inputs[0];
    const b = inputs[bIndex];
    if (!a || !b) return undefined;
    const a2 = a.length === 1 ? [1, a[0]] : a;
    const b2 = b.length === 1 ? [b[0], 1] : b;
    const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)], unknown)!;
    const out = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
    if (a.length === 1) out.splice(out.length - 2, 1);
    if (b.length === 1) out.splice(out.length - 1, 1);
    return [out];
  };
}

const flatten: Rule = ({ node, inputs, unknown }) => {
  const x = inputs[0];
  if (!x) return undefined;
  const axis = axisOf(int(node, "axis", 1), x.length);
  return [[product(x.slice(0, axis), unknown), product(x.slice(axis), unknown)]];
};

const reshape: Rule = ({ node, inputs, unknown }) => {
  const x = inputs[0];
  const target = ints(node, "shape");
  if (!x || !target) return undefined;
  const out: SymShape = target.map((d, i) => (d === 0 ? x[i] : d));
  const hole = out.indexOf(-1);
  if (hole >= 0) {
    const rest = out.filter((_, i) => i !== hole);
    out[hole] = quotient(x, rest, unknown);
  }
  return [out];
};

/** prod(whole) / prod(part), symbolically where the symbols cancel. */
function quotient(whole: SymShape, part: SymShape, unknown: () => string): SymDim {
  const remaining = [...whole];
  let divisor = 1;
  for (const d of part) {
    const at = typeof d === "string" ? remaining.indexOf(d) : -1;
    if (at >= 0) remaining.splice(at, 1);
    else if (typeof d === "number") divisor *= d;
    else return unknown();
  }
  const numbers = remaining.filter((d) => typeof d === "number") as number[];
  const symbols = remaining.filter((d) => typeof d === "string");
  const known = numbers.reduce((p, d) => p * d, 1);
  if (known % divisor !== 0) return unknown();
  return product([...symbols, known / divisor], unknown);
}

const transpose: Rule = ({ node, inputs }) => {
  const x = inputs[0];
  if (!x) return undefined;
  const perm = ints(node, "perm") ?? x.map((_, i) => x.length - 1 - i);
  return [perm.map((p) => x[p])];
};

const concat: Rule = ({ node, inputs, unknown }) => {
  if (inputs.length === 0 || inputs.some((s) => !s)) return undefined;
  const first = inputs[0]!;
  const axis = axisOf(int(node, "axis", 0), first.length);
  const out = [...first];
  out[axis] = inputs.reduce<SymDim>((sum, s) => {
    const d = s![axis];
    return typeof sum === "number" && typeof d === "number" ? sum + d : unknown();
  }, 0);
  return [out];
};

const split: Rule = ({ node, inputs, unknown }) => {
  const x = inputs[0];
  if (!x) return undefined;
  const axis = axisOf(int(node, "axis", 0), x.length);
  const count = node.outputs.length;
  const dim = x[axis];
  const equal = typeof dim === "number" && dim % count === 0 ? dim / count : undefined;
  const sizes: SymDim[] = ints(node, "split") ??
    Array.from({ length: count }, () => equal ?? unknown());
  return sizes.map((s) => x.map((d, i) => (i === axis ? s : d)));
};

const reduceMean: Rule = ({ node, inputs }) => {
  const x = inputs[0];
  if (!x) return undefined;
  const axes = (ints(node, "axes") ?? x.map((_, i) => i)).map((a) => axisOf(a, x.length));
  const keep = int(node, "keepdims", 1) === 1;
  const out: SymShape = [];
  x.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return [out];
};

const squeeze: Rule = ({ node, inputs }) => {
  const x = inputs[0];
  if (!x) return undefined;
  const given = ints(node, "axes");
  if (!given && x.some((d) => typeof d === "string")) return undefined;
  const axes = (given ?? x.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => axisOf(a, x.length));
  return [x.filter((_, i) => !axes.includes(i))];
};

const unsqueeze: Rule = ({ node, inputs }) => {
  const x = inputs[0];
  const given = ints(node, "axes");
  if (!x || !given) return undefined;
  const rank = x.length + given.length;
  const axes = given.map((a) => axisOf(a, rank));
  const out: SymShape = [];
  let next = 0;
  for (let i = 0; i < rank; i++) out.push(axes.includes(i) ? 1 : x[next++]);
  return [out];
};

const slice: Rule = ({ node, inputs, unknown }) => {
  const x = inputs[0];
  const starts = ints(node, "starts");
  const ends = ints(node, "ends");
  if (!x || !starts || !ends) return undefined;
  const axes = (ints(node, "axes") ?? starts.map((_, i) => i)).map((a) => axisOf(a, x.length));
  const steps = ints(node, "steps") ?? starts.map(() => 1);
  const out = [...x];
  axes.forEach((axis, i) => {
    const d = x[axis];
    if (typeof d !== "number") {
      out[axis] = unknown();
      return;
    }
    const [from, to] = sliceBounds(d, starts[i], ends[i], steps[i]);
    out[axis] = Math.max(0, Math.ceil((to - from) / steps[i]));
  });
  return [out];
};

/** First index and exclusive bound of `Slice` along an axis of `size` (ONNX clamping). */
export function sliceBounds(
  size: number,
  start: number,
  end: number,
  step: number,
): [number, number] {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const s = start < 0 ? start + size : start;
  const e = end < 0 ? end + size : end;
  return step > 0
    ? [clamp(s, 0, size), clamp(e, 0, size)]
    : [clamp(s, 0, size - 1), clamp(e, -1, size - 1)];
}

const pad: Rule = ({ node, inputs, unknown }) => {
  const x = inputs[0];
  const pads = ints(node, "pads");
  if (!x || !pads) return undefined;
  return [x.map((d, i) => {
    const added = pads[i] + pads[i + x.length];
    return added === 0 ? d : typeof d === "number" ? d + added : unknown();
  })];
};

const RULES: Readonly<Record<string, Rule>> = {
  Add: ({ inputs, unknown }) => [broadcast([inputs[0], inputs[1]], unknown)],
  AveragePool: pool,
  BatchNormalization: same,
  Cast: same,
  Clip: same,
  Concat: concat,
  Conv: conv(0, 1),
  DequantizeLinear: same,
  Flatten: flatten,
  Gemm: gemm(1),
  GlobalAveragePool: globalPool,
  MatMul: matmul(1),
  MaxPool: pool,
  Mul: ({ inputs, unknown }) => [broadcast([inputs[0], inputs[1]], unknown)],
  Pad: pad,
  QGemm: gemm(3),
  QLinearAdd: ({ inputs, unknown }) => [broadcast([inputs[0], inputs[3]], unknown)],
  QLinearConv: conv(0, 3),
  QLinearGlobalAveragePool: globalPool,
  QLinearMatMul: matmul(3),
  QuantizeLinear: same,
  ReduceMean: reduceMean,
  Relu: same,
  Reshape: reshape,
  Slice: slice,
  Softmax: same,
  Split: split,
  Squeeze: squeeze,
  Transpose: transpose,
  Unsqueeze: unsqueeze,
};
