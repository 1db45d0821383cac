/**
 * Generates the WebAssembly SIMD QuantizeLinear kernel (wasm_quantize.ts drives it), one
 * function per output type, `quantize_<u8|i8>(src, dst, blocks, scale, lo, hi, zero)`: for
 * `blocks` runs of 16 f32 values at `src`, writes 16 bytes at `dst`, each
 * `round_half_even(clamp(x / scale, lo, hi)) + zero` with onnxruntime's arithmetic (MLAS
 * `MlasQuantizeLinear`: f32 division, `maxps` then `minps`, whose NaN operand yields the
 * bound, so NaN quantizes to `lo + zero`, the type's minimum; `f32x4.pmax(lo, q)` and
 * `f32x4.pmin(hi, q)` return the bound for NaN the same way). Addresses in bytes; `lo` and
 * `hi` are `qmin - zero` and `qmax - zero`.
 *
 * @module
 */

import { range } from "./emit_loops.ts";
import type { FunctionBody, ValType } from "./function_body.ts";
import { type MemoryLimits, ModuleBuilder } from "./module_builder.ts";

/** The 8-bit output types. */
export type QuantizeType = "u8" | "i8";

/** `quantize_<type>`'s parameters (see the module doc). */
const QUANTIZE_PARAMS: ValType[] = ["i32", "i32", "i32", "f32", "f32", "f32", "i32"];

/**
 * The quantization module: imports `env.memory`, exports `quantize_u8` and `quantize_i8`.
 *
 * @example
 * ```ts
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const bytes = quantizeKernelModule();
 * const q = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
 * ```
 */
export function quantizeKernelModule(
  limits: MemoryLimits = { minPages: 1 },
): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder();
  mod.importMemory("env", "memory", limits);
  for (const type of ["u8", "i8"] as const) {
    const quantize = mod.addFunction(QUANTIZE_PARAMS, []);
    emitQuantize(quantize.body, type);
    mod.exportFunction(`quantize_${type}`, quantize.index);
  }
  return mod.encode();
}

/** `quantize_<type>`: per block, 4 vectors quantized to i32, narrowed to 16 bytes. */
function emitQuantize(f: FunctionBody, type: QuantizeType) {
  const [src, dst, blocks, scale, lo, hi, zero] = range(7);
  const [vscale, vlo, vhi, vzero, v0, v1] = range(6).map(() => f.addLocal("v128"));
  f.localGet(scale).op("f32x4.splat").localSet(vscale);
  f.localGet(lo).op("f32x4.splat").localSet(vlo);
  f.localGet(hi).op("f32x4.splat").localSet(vhi);
  f.localGet(zero).op("i32x4.splat").localSet(vzero);
  /** Pushes the 4 quantized i32s of the vector at `src` + `offset`. */
  const quantized = (offset: number) => {
    f.localGet(vhi).localGet(vlo);
    f.localGet(src).memory("v128.load", offset).localGet(vscale).op("f32x4.div");
    f.op("f32x4.pmax").op("f32x4.pmin").op("f32x4.nearest");
    f.op("i32x4.trunc_sat_f32x4_s").localGet(vzero).op("i32x4.add");
  };
  f.block();
  f.localGet(blocks).op("i32.eqz").brIf(0);
  f.loop();
  // Both narrowings are exact: the values are already inside the 8-bit range.
  quantized(0);
  quantized(16);
  f.op("i16x8.narrow_i32x4_s").localSet(v0);
  quantized(32);
  quantized(48);
  f.op("i16x8.narrow_i32x4_s").localSet(v1);
  f.localGet(dst).localGet(v0).localGet(v1);
  f.op(type === "u8" ? "i8x16.narrow_i16x8_u" : "i8x16.narrow_i16x8_s").memory("v128.store");
  f.localGet(src).i32Const(64).op("i32.add").localSet(src);
  f.localGet(dst).i32Const(16).op("i32.add").localSet(dst);
  f.localGet(blocks).i32Const(1).op("i32.sub").localTee(blocks).brIf(0);
  f.end();
  f.end();
}
