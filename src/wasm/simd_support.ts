/**
 * Feature detection for the WebAssembly the CPU kernels generate: each probe is a tiny module
 * using the instructions in question, checked with `WebAssembly.validate` (no compilation,
 * no instance).
 *
 * @module
 */

import type { PlainOp } from "./function_body.ts";
import { ModuleBuilder } from "./module_builder.ts";

/** A module with one function `(v128, v128, v128) -> v128` that applies `ops` to its params. */
export function simdProbeModule(ops: readonly PlainOp[]): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder();
  const fn = mod.addFunction(["v128", "v128", "v128"], ["v128"]);
  fn.body.localGet(0).localGet(1).localGet(2);
  for (const op of ops) fn.body.op(op);
  return mod.encode();
}

/** True when `bytes` is a module this engine accepts. */
function validates(bytes: Uint8Array<ArrayBuffer>): boolean {
  return typeof WebAssembly === "object" && WebAssembly.validate(bytes);
}

let simd: boolean | undefined;
let relaxed: boolean | undefined;

/**
 * True when the engine runs WebAssembly fixed-width SIMD (v128, f32x4).
 *
 * @example
 * ```ts
 * const gemm = wasmSimdSupported() ? "wasm" : "typescript";
 * ```
 */
export function wasmSimdSupported(): boolean {
  simd ??= validates(simdProbeModule(["f32x4.mul", "f32x4.add"]));
  return simd;
}

/**
 * True when the engine also runs relaxed SIMD's `f32x4.relaxed_madd`.
 *
 * @example
 * ```ts
 * const config = { mr: 8, nr: 6, arithmetic: relaxedSimdSupported() ? "f32-fma" : "f32" };
 * ```
 */
export function relaxedSimdSupported(): boolean {
  relaxed ??= wasmSimdSupported() && validates(simdProbeModule(["f32x4.relaxed_madd"]));
  return relaxed;
}

/**
 * `make()` where the engine runs WebAssembly SIMD, else null; null too when the engine
 * refuses to compile WebAssembly at run time (as some edge runtimes do). Other errors throw.
 *
 * @example
 * ```ts
 * const gemm = simdKernelOrNull(() => new WasmGemm(INT8_KERNEL));
 * ```
 */
export function simdKernelOrNull<T>(make: () => T): T | null {
  if (!wasmSimdSupported()) return null;
  try {
    return make();
  } catch (err) {
    if (err instanceof WebAssembly.CompileError || err instanceof EvalError) return null;
    throw err;
  }
}
