/**
 * MaxPoolNhwc: MaxPool (ONNX attributes, pool_window.ts) of an 8-bit NHWC4 tensor
 * [N, H, W, Cp] (nhwc4.ts), made by lowerInt8 so that a max pool between int8 convolutions
 * stays in the packed layout. Padding never wins; padding channels pool like the others.
 *
 * CPU: 16 channels per WebAssembly SIMD vector where the channels come in 16s, else
 * TypeScript. GPU: one invocation per output word (four channels of one pixel), lane-wise max
 * of the unpacked bytes. Compiled in: dtype (u8 and i8 order bytes differently), workgroup size.
 *
 * @module
 */

import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import { FLAT_WORKGROUP_INDEX, workgroupGrid } from "../shaders/grid.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { nodeLabel, requireOutputs } from "./attributes.ts";
import { CONV_WINDOW_UNIFORMS, convWindowOf, convWindowUniforms } from "./conv_window.ts";
import { checkNhwc4 } from "./nhwc4.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import { type PoolWindow, poolWindow } from "./pool_window.ts";
import { sharedWasmPool } from "../wasm/wasm_pool.ts";

const WORKGROUP_SIZE = 64;

function geometry(node: Node, inputs: readonly (TensorType | undefined)[]) {
  requireOutputs(node, 1);
  if (inputs.length !== 1) {
    throw new Error(`${nodeLabel(node)}: needs 1 input, got ${inputs.length}`);
  }
  const x = checkNhwc4(node, inputs[0], "X");
  const window: PoolWindow = poolWindow(node, [x.h, x.w], { dilations: true });
  return { ...x, window };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const g = geometry(node, inputs);
  return [{ dtype: g.dtype, shape: [g.n, g.window[0].out, g.window[1].out, g.cp] }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = geometry(node, inputs);
  const [hAxis, wAxis] = g.window;
  const x = inputs[0]!.data;
  const y = makeTensor(g.dtype, [g.n, hAxis.out, wAxis.out, g.cp]);
  let o = 0;
  for (let n = 0; n < g.n; n++) {
    for (let oy = 0; oy < hAxis.out; oy++) {
      for (let ox = 0; ox < wAxis.out; ox++) {
        for (let c = 0; c < g.cp; c++) {
          let best = -Infinity;
          for (let ky = 0; ky < hAxis.kernel; ky++) {
            const iy = oy * hAxis.stride - hAxis.padBegin + ky * hAxis.dilation;
            if (iy < 0 || iy >= g.h) continue;
            for (let kx = 0; kx < wAxis.kernel; kx++) {
              const ix = ox * wAxis.stride - wAxis.padBegin + kx * wAxis.dilation;
              if (ix < 0 || ix >= g.w) continue;
              best = Math.max(best, x[((n * g.h + iy) * g.w + ix) * g.cp + c]);
            }
          }
          y.data[o++] = best;
        }
      }
    }
  }
  return [y];
}

/**
 * CPU kernel: the WebAssembly SIMD kernel (src/wasm/wasm_pool.ts, 16 channels per vector)
 * where the engine has one and the channels come in 16s (ResNet-50 int8's stem pool 5.6 ->
 * 0.19 ms timed node by node, the model 83-87 -> 80-83 ms a run on one thread), else
 * `maxPoolNhwcTypeScript`.
 */
function cpu(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = geometry(node, inputs);
  const wasm = g.cp % 16 === 0 ? sharedWasmPool() : null;
  if (!wasm) return maxPoolNhwcTypeScript(node, inputs);
  const y = makeTensor(g.dtype, [g.n, g.window[0].out, g.window[1].out, g.cp]);
  const data = (t: Tensor) => t.data as Uint8Array | Int8Array;
  wasm.maxPoolNhwc(data(inputs[0]!), g.dtype, [g.n, g.cp], g.window, data(y));
  return [y];
}

/**
 * MaxPoolNhwc in TypeScript: per output pixel, the first in-bounds tap's channels copied, then
 * a compare per channel for each other in-bounds tap (the typed arrays order u8 and i8 values
 * correctly); window bounds are computed once per row and column instead of per element. The
 * path for channels not in 16s and engines without WebAssembly SIMD.
 *
 * @example
 * ```ts
 * const [y] = maxPoolNhwcTypeScript(node, [x]);
 * ```
 */
export function maxPoolNhwcTypeScript(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = geometry(node, inputs);
  const [hAxis, wAxis] = g.window;
  const x = inputs[0]!.data;
  const y = makeTensor(g.dtype, [g.n, hAxis.out, wAxis.out, g.cp]);
  const out = y.data;
  const taps = (axis: typeof hAxis, o: number) => {
    const at: number[] = [];
    for (let k = 0; k < axis.kernel; k++) {
      const i = o * axis.stride - axis.padBegin + k * axis.dilation;
      if (i >= 0 && i < axis.size) at.push(i);
    }
    return at;
  };
  const columns = Array.from({ length: wAxis.out }, (_, ox) => taps(wAxis, ox));
  let dst = 0;
  for (let n = 0; n < g.n; n++) {
    for (let oy = 0; oy < hAxis.out; oy++) {
      const rows = taps(hAxis, oy);
      for (let ox = 0; ox < wAxis.out; ox++, dst += g.cp) {
        let first = true;
        for (const iy of rows) {
          for (const ix of columns[ox]) {
            const src = ((n * g.h + iy) * g.w + ix) * g.cp;
            if (first) {
              out.set(x.subarray(src, src + g.cp), dst);
              first = false;
              continue;
            }
            for (let c = 0; c < g.cp; c++) {
              const v = x[src + c];
              if (v > out[dst + c]) out[dst + c] = v;
            }
          }
        }
      }
    }
  }
  return [y];
}

const PARAMS = uniformLayout("Params", {
  words: "u32",
  h: "u32",
  w: "u32",
  cw: "u32",
  oh: "u32",
  ow: "u32",
  ...CONV_WINDOW_UNIFORMS,
});

function wgsl(dtype: "u8" | "i8"): string {
  const [lanes, unpack, pack, lowest] = dtype === "u8"
    ? ["vec4<u32>", "unpack4xU8", "pack4xU8", "vec4<u32>(0u)"]
    : ["vec4<i32>", "unpack4xI8", "pack4xI8", "vec4<i32>(-128)"];
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
${PARAMS.struct}
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let word = ${FLAT_WORKGROUP_INDEX} * ${WORKGROUP_SIZE}u + lid;
  if (word >= params.words) { return; }
  let c4 = word % params.cw;
  let pixel = word / params.cw;
  let ox = pixel % params.ow;
  let oy = (pixel / params.ow) % params.oh;
  let n = pixel / (params.ow * params.oh);
  var best: ${lanes} = ${lowest};
  for (var ky = 0u; ky < params.kh; ky++) {
    let iy = i32(oy * params.stride_h + ky * params.dil_h) - params.pad_t;
    if (iy < 0 || iy >= i32(params.h)) { continue; }
    for (var kx = 0u; kx < params.kw; kx++) {
      let ix = i32(ox * params.stride_w + kx * params.dil_w) - params.pad_l;
      if (ix < 0 || ix >= i32(params.w)) { continue; }
      best = max(best, ${unpack}(x[((n * params.h + u32(iy)) * params.w + u32(ix)) * params.cw + c4]));
    }
  }
  y[word] = ${pack}(best);
}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const g = geometry(ctx.node, ctx.inputs);
  const [hAxis, wAxis] = g.window;
  const words = g.n * hAxis.out * wAxis.out * (g.cp / 4);
  return {
    programs: [{
      key: `max_pool_nhwc_${g.dtype}_wg${WORKGROUP_SIZE}`,
      wgsl: () => wgsl(g.dtype),
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms: PARAMS.pack({
        words,
        h: g.h,
        w: g.w,
        cw: g.cp / 4,
        oh: hAxis.out,
        ow: wAxis.out,
        ...convWindowUniforms(convWindowOf(g.window)),
      }),
      workgroups: workgroupGrid(
        Math.ceil(words / WORKGROUP_SIZE),
        ctx.limits.maxComputeWorkgroupsPerDimension,
      ),
    }],
  };
}

/** MaxPoolNhwc: max pooling of NHWC4 8-bit tensors. */
export const maxPoolNhwc: OpDef = { op: "MaxPoolNhwc", inferTypes, reference, cpu, gpu };
