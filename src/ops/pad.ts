/**
 * Pad (opset-13 semantics) of an f32 or i32 tensor: `pads` is
 * `[x1_begin, x2_begin, ..., x1_end, x2_end, ...]`, one begin and one end per dim; a
 * negative pad removes elements. `mode`:
 * - `"constant"` (default): new elements are `value` (default 0; an integer for i32);
 * - `"edge"`: they repeat the nearest edge element;
 * - `"reflect"`: they mirror the dim without repeating the edge (numpy's `reflect`, also
 *   for pads longer than the dim, which onnxruntime rejects: the mirror repeats with period
 *   2 * (dim - 1); a dim of length 1 repeats its element).
 *
 * Negative pads crop first (as onnxruntime does): each dim keeps the input elements that no
 * negative pad removes, and the positive pads then extend that kept range, so edge and
 * reflect read only kept elements. Output coordinate o of a dim reads kept element
 * `o - before` (`before` = the begin pad where positive), mapped back into the kept range by
 * the mode; a constant-mode coordinate outside it reads `value`.
 *
 * GPU: one invocation per output element (src/shaders/elementwise.ts) decomposes its index
 * over the output dims with signed per-dim maths; the crop of the begin pads is one base
 * offset. Dims that add nothing are merged into the dim before them first
 * (`collapsePadAxes`), so a channel pad of NCHW runs over [N, C', H * W]. The kernel moves
 * 32-bit words (the fill value is a uniform word), so one pipeline per mode serves f32 and
 * i32. Compiled in: the mode and workgroup size.
 *
 * @module
 */

import { makeTensor, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
} from "../shaders/elementwise.ts";
import { contiguousStrides, STRIDED_FIELD, stridedWords } from "../shaders/strided.ts";
import {
  floatAttr,
  intsAttr,
  nodeLabel,
  requireInputs,
  requireOutputs,
  stringAttr,
} from "./attributes.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";

/** How Pad fills the new elements. */
export type PadMode = "constant" | "reflect" | "edge";

const MODES: readonly PadMode[] = ["constant", "reflect", "edge"];

/** One dim of a pad, after the negative pads have cropped the input. */
export interface PadAxis {
  /** Output length. */
  out: number;
  /** Input elements kept after cropping. */
  kept: number;
  /** Elements added before the kept ones (the begin pad, or 0 where it crops). */
  before: number;
  /** Input element stride of the dim. */
  stride: number;
}

/** A validated Pad of one input. */
interface PadLayout {
  mode: PadMode;
  value: number;
  /** Output shape. */
  shape: number[];
  /** Per dim, in order. */
  axes: PadAxis[];
  /** Input offset of the first kept element (the crop of the negative begin pads). */
  base: number;
}

function layout(node: Node, x: TensorType): PadLayout {
  const rank = x.shape.length;
  const pads = intsAttr(node, "pads");
  if (pads.length !== 2 * rank) {
    throw new Error(
      `${nodeLabel(node)}: pads ${JSON.stringify(pads)} must have ${2 * rank} entries ` +
        `(a begin and an end per dim) for input [${x.shape}]`,
    );
  }
  const mode = stringAttr(node, "mode", MODES, "constant");
  const value = floatAttr(node, "value", 0);
  if (x.dtype === "i32" && !(Number.isInteger(value) && value === (value | 0))) {
    throw new Error(`${nodeLabel(node)}: value ${value} is not an int32 for an i32 input`);
  }
  const strides = contiguousStrides(x.shape);
  let base = 0;
  const axes = x.shape.map((n, d) => {
    const [begin, end] = [pads[d], pads[rank + d]];
    const kept = n - Math.max(-begin, 0) - Math.max(-end, 0);
    if (kept < 0) {
      throw new Error(
        `${nodeLabel(node)}: pads ${JSON.stringify(pads)} remove more than the ${n} elements ` +
          `of dim ${d}`,
      );
    }
    const out = n + begin + end;
    if (mode !== "constant" && out > kept && kept === 0) {
      throw new Error(
        `${nodeLabel(node)}: ${mode} mode cannot pad dim ${d}: it keeps no element to repeat`,
      );
    }
    base += Math.max(-begin, 0) * strides[d];
    return { out, kept, before: Math.max(begin, 0), stride: strides[d] };
  });
  return { mode, value, shape: axes.map((a) => a.out), axes, base };
}

/**
 * The kept input index that padded index `i` of a dim with `n` kept elements reads, or -1
 * for the fill value (constant mode only).
 */
export function padSourceIndex(mode: PadMode, i: number, n: number): number {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case "constant":
      return -1;
    case "edge":
      return i < 0 ? 0 : n - 1;
    case "reflect": {
      const period = 2 * (n - 1);
      if (period === 0) return 0;
      const m = ((i % period) + period) % period;
      return m < n ? m : period - m;
    }
  }
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const [x] = requireInputs(node, inputs, 1, ["f32", "i32"]);
  requireOutputs(node, 1);
  return [{ dtype: x.dtype, shape: layout(node, x).shape }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const { mode, value, shape, axes, base } = layout(node, x);
  const y = makeTensor(x.dtype, shape);
  for (let o = 0; o < y.data.length; o++) {
    let rem = o;
    let offset = base;
    for (let d = axes.length - 1; d >= 0 && offset >= 0; d--) {
      const { out, kept, before, stride } = axes[d];
      const i = padSourceIndex(mode, (rem % out) - before, kept);
      offset = i < 0 ? -1 : offset + i * stride;
      rem = Math.floor(rem / out);
    }
    y.data[o] = offset < 0 ? value : x.data[offset];
  }
  return [y];
}

/**
 * The same pad over fewer dims: dims of output length 1 that add nothing are dropped, and an
 * unpadded, uncropped dim is merged into the dim before it when that keeps the index mapping
 * (constant mode, where a merged coordinate is in range exactly when the outer one is; other
 * modes only when the dim before adds nothing either).
 */
export function collapsePadAxes(mode: PadMode, axes: readonly PadAxis[]): PadAxis[] {
  const merged: PadAxis[] = [];
  for (const a of axes) {
    const unpadded = a.out === a.kept;
    if (unpadded && a.out === 1) continue;
    const last = merged.at(-1);
    if (
      last && unpadded && last.stride === a.kept * a.stride &&
      (mode === "constant" || last.out === last.kept)
    ) {
      merged[merged.length - 1] = {
        out: last.out * a.out,
        kept: last.kept * a.kept,
        before: last.before * a.out,
        stride: a.stride,
      };
    } else {
      merged.push({ ...a });
    }
  }
  return merged;
}

/** WGSL `fn source_index(i: i32, n: i32) -> i32`: `padSourceIndex` for `mode`. */
function sourceIndexFn(mode: PadMode): string {
  const outside = {
    constant: "return -1;",
    edge: "return select(n - 1, 0, i < 0);",
    reflect: `let period = 2 * (n - 1);
  if (period == 0) { return 0; }
  let m = ((i % period) + period) % period;
  return select(period - m, m, m < n);`,
  }[mode];
  return /* wgsl */ `
fn source_index(i: i32, n: i32) -> i32 {
  if (i >= 0 && i < n) { return i; }
  ${outside}
}`;
}

function wgsl(mode: PadMode): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
struct Params {
  length: u32, rank: u32, fill: u32, base: u32,
  out: ${STRIDED_FIELD}, kept: ${STRIDED_FIELD},
  before: ${STRIDED_FIELD}, stride: ${STRIDED_FIELD},
}
@group(0) @binding(2) var<uniform> params: Params;
${sourceIndexFn(mode)}

fn value_at(o: u32) -> u32 {
  var rem = o;
  var offset = params.base;
  for (var e = params.rank; e > 0u; e--) {
    let d = e - 1u;
    let n = params.out[d / 4u][d % 4u];
    let c = i32(rem % n) - i32(params.before[d / 4u][d % 4u]);
    rem = rem / n;
    let i = source_index(c, i32(params.kept[d / 4u][d % 4u]));
    if (i < 0) { return params.fill; }
    offset += u32(i) * params.stride[d / 4u][d % 4u];
  }
  return x[offset];
}
${elementwiseMain("u32", 1)}`;
}

/** The fill value as the 32-bit word the kernel stores. */
function fillWord(dtype: TensorType["dtype"], value: number): number {
  return dtype === "f32" ? new Uint32Array(Float32Array.of(value).buffer)[0] : value >>> 0;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const x = ctx.inputs[0]!;
  const { mode, value, shape, axes, base } = layout(ctx.node, x);
  const dims = collapsePadAxes(mode, axes);
  const length = sizeOf(shape);
  const owner = nodeLabel(ctx.node);
  return {
    programs: [{
      key: `pad_${mode}_b32_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl: () => wgsl(mode),
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms: new Uint32Array([
        length,
        dims.length,
        fillWord(x.dtype, value),
        base,
        ...stridedWords(dims.map((a) => a.out), owner),
        ...stridedWords(dims.map((a) => a.kept), owner),
        ...stridedWords(dims.map((a) => a.before), owner),
        ...stridedWords(dims.map((a) => a.stride), owner),
      ]),
      workgroups: elementwiseWorkgroups("u32", length, ctx.limits),
    }],
  };
}

/** Pad of f32 and i32 tensors in constant, reflect and edge mode. */
export const pad: OpDef = { op: "Pad", inferTypes, reference, gpu };
