/**
 * Conv's fast CPU kernel (conv.ts's `cpu`), tested against conv.ts's float64 reference.
 *
 * Where the engine runs WebAssembly SIMD, the whole convolution runs in WebAssembly: large 3x3
 * stride-1 convs as Winograd F(2x2, 3x3) (src/wasm/wasm_winograd.ts), the others directly
 * (src/wasm/wasm_conv.ts): the pre-activation and zero padding are applied while the image is
 * staged, the patches are gathered straight into the matrix product's packed layout, the
 * weights are packed once, and bias, residual and activation are applied as the result is
 * copied out. Elsewhere `convIm2col` runs in TypeScript: pre-activate the input once, then
 * per image and group an im2col and the float64 blocked product of cpu_gemm.ts, then bias,
 * residual and activation in one pass.
 *
 * @module
 */

import { makeTensor, type Tensor } from "../graph/types.ts";
import { activate } from "../shaders/activation.ts";
import { type ConvTensors, sharedWasmConv } from "../wasm/wasm_conv.ts";
import { sharedWasmWinograd, winogradOnCpu } from "../wasm/wasm_winograd.ts";
import type { ConvGeometry } from "./conv.ts";
import { gemmF32Blocked, rowMajor } from "./cpu_gemm.ts";

/** Conv's input slots (docs/ARCHITECTURE.md, "Fused ops"). */
const X = 0, W = 1, B = 2, Z = 3, PRE_SCALE = 4, PRE_SHIFT = 5;

/**
 * The f32 data of a Conv node's inputs, by role.
 *
 * @example
 * ```ts
 * convIm2col(convGeometry(node, inputs), convTensors(inputs), y);
 * ```
 */
export function convTensors(inputs: readonly (Tensor | undefined)[]): ConvTensors {
  const data = (slot: number) => inputs[slot]?.data as Float32Array | undefined;
  return {
    x: data(X)!,
    w: data(W)!,
    bias: data(B),
    z: data(Z),
    preScale: data(PRE_SCALE),
    preShift: data(PRE_SHIFT),
  };
}

/**
 * Conv `g` (from `convGeometry`) of a node's `inputs` on the CPU: WebAssembly SIMD where the
 * engine has it (Winograd where `winogradOnCpu`), else `convIm2col`.
 *
 * @example
 * ```ts
 * const cpu = (node: Node, inputs: (Tensor | undefined)[]) =>
 *   convCpu(convGeometry(node, inputs), inputs);
 * ```
 */
export function convCpu(g: ConvGeometry, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const t = convTensors(inputs);
  const y = makeTensor("f32", [g.n, g.m, g.oh, g.ow]);
  const wasm = sharedWasmConv();
  const winograd = wasm && winogradOnCpu(g) ? sharedWasmWinograd() : null;
  if (winograd) winograd.conv(g, t, y.data as Float32Array);
  else if (wasm) wasm.conv(g, t, y.data as Float32Array);
  else convIm2col(g, t, y.data as Float32Array);
  return [y];
}

/** The input with the pre-activation applied to every element (X itself without one). */
function preActivatedInput(g: ConvGeometry, t: ConvTensors): Float32Array {
  const { x, preScale, preShift } = t;
  if (g.pre === "none") return x;
  const out = new Float32Array(x.length);
  const plane = g.h * g.w;
  for (let nc = 0; nc < g.n * g.c; nc++) {
    const scale = preScale![nc % g.c], shift = preShift![nc % g.c];
    for (let i = nc * plane; i < (nc + 1) * plane; i++) {
      const v = x[i] * scale + shift;
      out[i] = g.pre === "bn_relu" ? Math.max(v, 0) : v;
    }
  }
  return out;
}

/**
 * Writes the patch matrix of one image and group: row (c, i, j) of `cols` [cg*kh*kw, oh*ow]
 * holds input channel c at tap (i, j) for every output pixel, 0 where the tap is padding.
 */
function im2col(g: ConvGeometry, x: Float32Array, xOffset: number, cols: Float32Array): void {
  let dst = 0;
  for (let c = 0; c < g.cg; c++) {
    for (let i = 0; i < g.kh; i++) {
      for (let j = 0; j < g.kw; j++) {
        for (let oy = 0; oy < g.oh; oy++, dst += g.ow) {
          const ih = oy * g.strideH - g.padT + i * g.dilH;
          if (ih < 0 || ih >= g.h) {
            cols.fill(0, dst, dst + g.ow);
            continue;
          }
          const src = xOffset + (c * g.h + ih) * g.w;
          for (let ox = 0; ox < g.ow; ox++) {
            const iw = ox * g.strideW - g.padL + j * g.dilW;
            cols[dst + ox] = iw >= 0 && iw < g.w ? x[src + iw] : 0;
          }
        }
      }
    }
  }
}

/**
 * Conv in TypeScript, for engines without WebAssembly SIMD: pre-activate X once (padding is
 * never touched, so it stays 0), then per image and group one float64 blocked product
 * W_g [mg, cg*kh*kw] x patches [cg*kh*kw, oh*ow] straight into the NCHW output `y` (a 1x1
 * stride-1 unpadded conv multiplies by X's channel planes directly), then bias, residual and
 * activation in one pass over `y`.
 *
 * @example
 * ```ts
 * convIm2col(convGeometry(node, types), { x, w, bias }, y);
 * ```
 */
export function convIm2col(g: ConvGeometry, t: ConvTensors, y: Float32Array): void {
  const x = preActivatedInput(g, t);
  const depth = g.cg * g.kh * g.kw;
  const pixels = g.oh * g.ow;
  const direct = g.kh === 1 && g.kw === 1 && g.strideH === 1 && g.strideW === 1 &&
    g.padT === 0 && g.padL === 0 && g.oh === g.h && g.ow === g.w;
  const cols = direct ? x : new Float32Array(depth * pixels);
  for (let n = 0; n < g.n; n++) {
    for (let grp = 0; grp < g.group; grp++) {
      const xOffset = (n * g.c + grp * g.cg) * g.h * g.w;
      if (!direct) im2col(g, x, xOffset, cols);
      gemmF32Blocked(
        g.mg,
        pixels,
        depth,
        rowMajor(t.w, depth, grp * g.mg * depth),
        rowMajor(cols, pixels, direct ? xOffset : 0),
        rowMajor(y, pixels, (n * g.m + grp * g.mg) * pixels),
      );
    }
  }
  const { bias, z } = t;
  if (bias || z || g.act.kind !== "none") {
    for (let i = 0; i < y.length; i++) {
      let v = y[i];
      if (bias) v += bias[Math.floor(i / pixels) % g.m];
      if (z) v += z[i];
      y[i] = activate(g.act, v);
    }
  }
}
