/**
 * The template for 2-D pooling on NCHW tensors (MaxPool, AveragePool); window geometry in
 * pool_window.ts.
 *
 * - MaxPool: the largest in-bounds element of each window (padding never wins), on f32 and
 *   on packed u8/i8 (quantized tensors keep their quantization parameters).
 * - AveragePool: the sum of in-bounds elements divided by their count, or with
 *   `count_include_pad` by the window positions inside the padded input (positions that
 *   `ceil_mode` adds past the trailing padding never count); f32 only.
 *
 * CPU: MaxPool's fast kernel is pool_cpu.ts; AveragePool runs its reference.
 *
 * GPU: one invocation per output element (four per invocation for 8-bit outputs, see
 * src/shaders/elementwise.ts) loops over its window with signed row/column maths and skips
 * out-of-bounds taps; all geometry lives in uniforms. Compiled in: pool kind, dtype,
 * workgroup size.
 *
 * @module
 */

import {
  type DType,
  makeTensor,
  type Node,
  sizeOf,
  type Tensor,
  type TensorType,
} from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
  storeFor,
} from "../shaders/elementwise.ts";
import { packed8Load } from "../shaders/packed8.ts";
import { intAttr, nodeLabel, requireInputs } from "./attributes.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import { maxPoolCpu } from "./pool_cpu.ts";
import { paddedWindowCount, type PoolWindow, poolWindow } from "./pool_window.ts";

/** Which pooling an op does. */
export type PoolKind = "max" | "avg";

/** What differs between the pooling kinds. */
const KINDS = {
  max: { op: "MaxPool", dtypes: ["f32", "u8", "i8"], dilations: true },
  avg: { op: "AveragePool", dtypes: ["f32"], dilations: false },
} as const satisfies Record<PoolKind, { op: string; dtypes: readonly DType[]; dilations: boolean }>;

/** Validated pooling node: geometry plus AveragePool's count_include_pad. */
interface Pooling {
  window: PoolWindow;
  includePad: boolean;
}

function pooling(kind: PoolKind, node: Node, x: TensorType): Pooling {
  if (x.shape.length !== 4) {
    throw new Error(`${nodeLabel(node)}: input must be NCHW (rank 4), got shape [${x.shape}]`);
  }
  const window = poolWindow(node, x.shape.slice(2), { dilations: KINDS[kind].dilations });
  const includePad = kind === "avg" ? intAttr(node, "count_include_pad", 0) : 0;
  if (includePad !== 0 && includePad !== 1) {
    throw new Error(`${nodeLabel(node)}: count_include_pad must be 0 or 1, got ${includePad}`);
  }
  return { window, includePad: includePad === 1 };
}

function outputShape(x: TensorType, [h, w]: PoolWindow): number[] {
  return [x.shape[0], x.shape[1], h.out, w.out];
}

/** Plain nested-loop pooling; AveragePool sums in float64. */
function poolReference(kind: PoolKind, x: Tensor, { window, includePad }: Pooling): Tensor {
  const [h, w] = window;
  const y = makeTensor(x.dtype, outputShape(x, window));
  const planes = x.shape[0] * x.shape[1];
  let o = 0;
  for (let p = 0; p < planes; p++) {
    for (let oh = 0; oh < h.out; oh++) {
      for (let ow = 0; ow < w.out; ow++) {
        let acc = 0;
        let count = 0;
        for (let ky = 0; ky < h.kernel; ky++) {
          const ih = oh * h.stride - h.padBegin + ky * h.dilation;
          if (ih < 0 || ih >= h.size) continue;
          for (let kx = 0; kx < w.kernel; kx++) {
            const iw = ow * w.stride - w.padBegin + kx * w.dilation;
            if (iw < 0 || iw >= w.size) continue;
            const v = x.data[(p * h.size + ih) * w.size + iw];
            acc = kind === "avg" ? acc + v : count === 0 ? v : Math.max(acc, v);
            count++;
          }
        }
        const cells = includePad ? paddedWindowCount(h, oh) * paddedWindowCount(w, ow) : count;
        y.data[o++] = kind === "avg" ? acc / cells : acc;
      }
    }
  }
  return y;
}

/** WGSL of one pooling variant. */
function poolWgsl(kind: PoolKind, dtype: DType): string {
  const store = storeFor(dtype);
  const packed = store === "packed8";
  const value = packed ? "i32" : "f32";
  const accumulate = kind === "max" ? "acc = select(max(acc, v), v, count == 0u);" : "acc += v;";
  const finish = kind === "max" ? "return acc;" : `let cells = select(count,
    u32(min(h0 + i32(params.kernel_h), i32(params.padded_h)) - h0) *
      u32(min(w0 + i32(params.kernel_w), i32(params.padded_w)) - w0),
    params.include_pad != 0u);
  return acc / f32(cells);`;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<${packed ? "u32" : "f32"}>;
struct Params {
  length: u32, out_h: u32, out_w: u32, in_h: u32,
  in_w: u32, kernel_h: u32, kernel_w: u32, stride_h: u32,
  stride_w: u32, pad_top: u32, pad_left: u32, dil_h: u32,
  dil_w: u32, padded_h: u32, padded_w: u32, include_pad: u32,
}
@group(0) @binding(2) var<uniform> params: Params;
${packed ? packed8Load("x", dtype as "u8" | "i8") : "fn load_x(i: u32) -> f32 { return x[i]; }"}

fn value_at(i: u32) -> ${value} {
  let ow = i % params.out_w;
  let rest = i / params.out_w;
  let oh = rest % params.out_h;
  let plane = rest / params.out_h;
  let h0 = i32(oh * params.stride_h) - i32(params.pad_top);
  let w0 = i32(ow * params.stride_w) - i32(params.pad_left);
  let base = plane * params.in_h * params.in_w;
  var acc: ${value};
  var count = 0u;
  for (var ky = 0u; ky < params.kernel_h; ky++) {
    let ih = h0 + i32(ky * params.dil_h);
    if (ih < 0 || ih >= i32(params.in_h)) { continue; }
    for (var kx = 0u; kx < params.kernel_w; kx++) {
      let iw = w0 + i32(kx * params.dil_w);
      if (iw < 0 || iw >= i32(params.in_w)) { continue; }
      let v = load_x(base + u32(ih) * params.in_w + u32(iw));
      ${accumulate}
      count++;
    }
  }
  ${finish}
}
${elementwiseMain(store, 1)}`;
}

/** Builds the OpDef of MaxPool (`"max"`) or AveragePool (`"avg"`). */
export function poolOp(kind: PoolKind): OpDef {
  const { op, dtypes } = KINDS[kind];

  function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
    const [x] = requireInputs(node, inputs, 1, dtypes);
    if (node.outputs.length !== 1) {
      throw new Error(
        `${nodeLabel(node)}: only the pooled output is supported, got outputs ` +
          JSON.stringify(node.outputs),
      );
    }
    const { window } = pooling(kind, node, x);
    return [{ dtype: x.dtype, shape: outputShape(x, window), ...(x.quant && { quant: x.quant }) }];
  }

  function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
    const x = inputs[0]!;
    const y = poolReference(kind, x, pooling(kind, node, x));
    return [{ ...y, ...(x.quant && { quant: x.quant }) }];
  }

  function gpu(ctx: GpuPlanContext): GpuPlan {
    const x = ctx.inputs[0]!;
    const dtype = x.dtype;
    const { window: [h, w], includePad } = pooling(kind, ctx.node, x);
    const length = sizeOf(ctx.outputs[0].shape);
    const store = storeFor(dtype);
    return {
      programs: [{
        key: `${kind}pool_${dtype}_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
        wgsl: () => poolWgsl(kind, dtype),
        bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
        uniforms: new Uint32Array([
          length,
          h.out,
          w.out,
          h.size,
          w.size,
          h.kernel,
          w.kernel,
          h.stride,
          w.stride,
          h.padBegin,
          w.padBegin,
          h.dilation,
          w.dilation,
          h.size + h.padEnd,
          w.size + w.padEnd,
          includePad ? 1 : 0,
        ]),
        workgroups: elementwiseWorkgroups(store, length, ctx.limits),
      }],
    };
  }

  return { op, inferTypes, reference, gpu, ...(kind === "max" && { cpu: maxPoolCpu }) };
}
