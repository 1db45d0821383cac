/**
 * TflAveragePool: TFLite's int8 AVERAGE_POOL_2D on NHWC4 activations (nhwc4.ts), made by the
 * TFLite importer; input and output share their quantization, as TFLite requires. Attributes:
 * `kernel_shape`, `strides`, `pads` (explicit, pool_window.ts) and the fused activation's
 * range `act_min`, `act_max`.
 *
 * Semantics (reference_integer_ops `AveragePool`): per channel, the sum of the window's
 * in-image values divided by their count, rounded half away from zero with C's truncating
 * division (tfl_math.ts `roundedAverage`), clamped. Padding channels pool like the others.
 *
 * GPU: one invocation per output word (four channels of one pixel, four bytes). Compiled in:
 * workgroup size only.
 *
 * @module
 */

import { makeTensor, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
} from "../shaders/elementwise.ts";
import { packed8Load } from "../shaders/packed8.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { nodeLabel, requireOutputs } from "./attributes.ts";
import { checkNhwc4 } from "./nhwc4.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import { poolWindow } from "./pool_window.ts";
import { roundedAverage } from "./tfl_math.ts";
import { activationBounds } from "./tfl_requant.ts";

function geometry(node: Node, inputs: readonly (TensorType | undefined)[]) {
  requireOutputs(node, 1);
  if (inputs.length !== 1) {
    throw new Error(`${nodeLabel(node)}: needs 1 input, got ${inputs.length}`);
  }
  const x = checkNhwc4(node, inputs[0], "X");
  if (x.dtype !== "i8") throw new Error(`${nodeLabel(node)}: X must be i8, got ${x.dtype}`);
  const window = poolWindow(node, [x.h, x.w], { dilations: false });
  const [lo, hi] = activationBounds(node);
  return { ...x, window, lo, hi };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const g = geometry(node, inputs);
  return [{ dtype: "i8", shape: [g.n, g.window[0].out, g.window[1].out, g.cp] }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = geometry(node, inputs);
  const [hy, hx] = g.window;
  const x = inputs[0]!.data;
  const y = makeTensor("i8", [g.n, hy.out, hx.out, g.cp]);
  for (let n = 0; n < g.n; n++) {
    for (let oy = 0; oy < hy.out; oy++) {
      for (let ox = 0; ox < hx.out; ox++) {
        for (let c = 0; c < g.cp; c++) {
          let sum = 0, count = 0;
          for (let ky = 0; ky < hy.kernel; ky++) {
            const iy = oy * hy.stride - hy.padBegin + ky;
            for (let kx = 0; kx < hx.kernel; kx++) {
              const ix = ox * hx.stride - hx.padBegin + kx;
              if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
              sum += x[((n * g.h + iy) * g.w + ix) * g.cp + c];
              count++;
            }
          }
          const avg = roundedAverage(sum, count);
          y.data[((n * hy.out + oy) * hx.out + ox) * g.cp + c] = Math.min(
            g.hi,
            Math.max(g.lo, avg),
          );
        }
      }
    }
  }
  return [y];
}

const PARAMS = uniformLayout("Params", {
  length: "u32",
  h: "u32",
  w: "u32",
  cp: "u32",
  oh: "u32",
  ow: "u32",
  kh: "u32",
  kw: "u32",
  stride_h: "u32",
  stride_w: "u32",
  pad_t: "i32",
  pad_l: "i32",
  act_min: "i32",
  act_max: "i32",
});

function wgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
${PARAMS.struct}
@group(0) @binding(2) var<uniform> params: Params;
${packed8Load("x", "i8")}

fn value_at(i: u32) -> i32 {
  let c = i % params.cp;
  let pixel = i / params.cp;
  let ox = pixel % params.ow;
  let oy = (pixel / params.ow) % params.oh;
  let n = pixel / (params.ow * params.oh);
  var sum = 0;
  var count = 0;
  for (var ky = 0u; ky < params.kh; ky++) {
    let iy = i32(oy * params.stride_h + ky) - params.pad_t;
    for (var kx = 0u; kx < params.kw; kx++) {
      let ix = i32(ox * params.stride_w + kx) - params.pad_l;
      if (iy >= 0 && iy < i32(params.h) && ix >= 0 && ix < i32(params.w)) {
        sum += load_x(((n * params.h + u32(iy)) * params.w + u32(ix)) * params.cp + c);
        count++;
      }
    }
  }
  // C's (sum +- count / 2) / count: WGSL's i32 division truncates toward zero too.
  let half = count / 2;
  let avg = select(sum - half, sum + half, sum > 0) / count;
  return clamp(avg, params.act_min, params.act_max);
}
${elementwiseMain("packed8", 1)}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const g = geometry(ctx.node, ctx.inputs);
  const [hy, hx] = g.window;
  const length = sizeOf(ctx.outputs[0].shape);
  return {
    programs: [{
      key: `tfl_average_pool_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl,
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms: PARAMS.pack({
        length,
        h: g.h,
        w: g.w,
        cp: g.cp,
        oh: hy.out,
        ow: hx.out,
        kh: hy.kernel,
        kw: hx.kernel,
        stride_h: hy.stride,
        stride_w: hx.stride,
        pad_t: hy.padBegin,
        pad_l: hx.padBegin,
        act_min: g.lo,
        act_max: g.hi,
      }),
      workgroups: elementwiseWorkgroups("packed8", length, ctx.limits),
    }],
  };
}

/** TflAveragePool: TFLite int8 AVERAGE_POOL_2D on NHWC4. */
export const tflAveragePool: OpDef = { op: "TflAveragePool", inferTypes, reference, gpu };
