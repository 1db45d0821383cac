/**
 * One CPU thread's peak multiply-add throughput, in the two forms resin's CPU kernels use:
 * - JS scalar: eight independent `a = a * m + c` chains (2 flops each). JS has no f32
 *   arithmetic: Float32Array kernels load f32 and multiply-add in f64 registers, which is
 *   what this measures (rounding to f32 with `Math.fround` after every step runs ~3x slower).
 * - WebAssembly SIMD: eight independent f32x4 chains (8 flops each), `f32x4.relaxed_madd`
 *   where the engine has relaxed SIMD (fused where the CPU has FMA), else `f32x4.mul` then
 *   `f32x4.add` — the instructions of the generated GEMM kernel (src/wasm/gemm_kernel.ts).
 *
 * Each loop is timed at a doubling iteration count until one call takes `TARGET_MS`; the
 * fastest of `REPS` calls at that count gives the peak.
 *
 * @module
 */

import { ModuleBuilder } from "../src/wasm/module_builder.ts";
import { relaxedSimdSupported, wasmSimdSupported } from "../src/wasm/simd_support.ts";
import type { Peak } from "./peak.ts";

/** A CPU peak loop: `run(n)` does `n` iterations of `opsPerIteration` operations. */
export interface CpuPeakLoop {
  /** What it measures. */
  name: string;
  /** Operations per iteration (2 per multiply-add per lane). */
  opsPerIteration: number;
  /** Runs `n` >= 1 iterations; throws if the values diverged. */
  run(n: number): void;
}

/** Independent accumulators of each loop. */
export const CHAINS = 8;
/** Steps of every chain per WebAssembly loop iteration. */
export const UNROLL = 4;
const TARGET_MS = 100;
const REPS = 5;
const MUL = 0.999;
const ADD = 1e-3;

/** `n` iterations of eight independent multiply-add chains; returns their sum. */
function jsChains(n: number, mul: number, add: number): number {
  let a0 = 0.1, a1 = 0.2, a2 = 0.3, a3 = 0.4, a4 = 0.5, a5 = 0.6, a6 = 0.7, a7 = 0.8;
  for (let i = 0; i < n; i++) {
    a0 = a0 * mul + add;
    a1 = a1 * mul + add;
    a2 = a2 * mul + add;
    a3 = a3 * mul + add;
    a4 = a4 * mul + add;
    a5 = a5 * mul + add;
    a6 = a6 * mul + add;
    a7 = a7 * mul + add;
  }
  return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}

/** The JS scalar loop. */
export function jsPeakLoop(): CpuPeakLoop {
  return {
    name: "CPU JS scalar multiply-add",
    opsPerIteration: 2 * 8,
    run(n) {
      const sum = jsChains(n, MUL, ADD);
      if (!Number.isFinite(sum)) throw new Error(`The JS peak loop diverged to ${sum}`);
    },
  };
}

/** Byte offsets of the WebAssembly loop's f32 multiplier, addend, initial values and results. */
export const WASM_PEAK_LAYOUT = { mul: 0, add: 4, init: 8, out: 64 } as const;
const AT = WASM_PEAK_LAYOUT;

/**
 * A module importing `env.memory` and exporting `peak(n)`: `CHAINS` f32x4 accumulators,
 * loaded as splats of `init`, each advanced `n * UNROLL` times by acc * mul + add (splats of
 * the words at `mul` and `add`), then stored at `out` so that none is dead code.
 */
export function wasmPeakModule(fused: boolean): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder();
  mod.importMemory("env", "memory", { minPages: 1 });
  const fn = mod.addFunction(["i32"], []);
  const body = fn.body;
  const splat = (offset: number, local: number) =>
    body.i32Const(0).memory("v128.load32_splat", offset).localSet(local);
  const mul = body.addLocal("v128");
  const add = body.addLocal("v128");
  const acc = Array.from({ length: CHAINS }, () => body.addLocal("v128"));
  splat(AT.mul, mul);
  splat(AT.add, add);
  acc.forEach((local, c) => splat(AT.init + 4 * c, local));
  body.loop();
  for (let u = 0; u < UNROLL; u++) {
    for (const local of acc) {
      if (fused) {
        body.localGet(local).localGet(mul).localGet(add).op("f32x4.relaxed_madd");
      } else {
        body.localGet(local).localGet(mul).op("f32x4.mul").localGet(add).op("f32x4.add");
      }
      body.localSet(local);
    }
  }
  body.localGet(0).i32Const(1).op("i32.sub").localTee(0).brIf(0).end();
  acc.forEach((local, c) => body.i32Const(0).localGet(local).memory("v128.store", AT.out + 16 * c));
  mod.exportFunction("peak", fn.index);
  return mod.encode();
}

/** The WebAssembly SIMD loop, or `undefined` when the engine has no SIMD. */
export function wasmPeakLoop(): CpuPeakLoop | undefined {
  if (!wasmSimdSupported()) return undefined;
  const fused = relaxedSimdSupported();
  const memory = new WebAssembly.Memory({ initial: 1 });
  const words = new Float32Array(memory.buffer);
  words[AT.mul / 4] = MUL;
  words[AT.add / 4] = ADD;
  for (let c = 0; c < CHAINS; c++) words[AT.init / 4 + c] = 0.1 * (c + 1);
  const instance = new WebAssembly.Instance(
    new WebAssembly.Module(wasmPeakModule(fused)),
    { env: { memory } },
  );
  const peak = instance.exports.peak as (n: number) => void;
  return {
    name: `CPU wasm f32x4 ${fused ? "relaxed_madd" : "mul + add"}`,
    opsPerIteration: UNROLL * CHAINS * 8,
    run(n) {
      peak(n);
      const out = new Float32Array(memory.buffer, AT.out, 4 * CHAINS);
      if (!out.every(Number.isFinite)) throw new Error("The wasm peak loop diverged");
    },
  };
}

/** Milliseconds of `loop.run(n)`. */
export function timeCpuLoop(loop: CpuPeakLoop, n: number): number {
  const start = performance.now();
  loop.run(n);
  return performance.now() - start;
}

/** An iteration count at which one call of `loop` takes at least `TARGET_MS`. */
export function calibrateCpuLoop(loop: CpuPeakLoop): number {
  let n = 1 << 10;
  while (timeCpuLoop(loop, n) < TARGET_MS && n < 2 ** 30) n *= 2;
  return n;
}

/** The peak of `loop`: calibrate, then the fastest of `REPS` calls. */
export function measureCpuPeak(loop: CpuPeakLoop): Peak {
  const n = calibrateCpuLoop(loop);
  const ms = Math.min(...Array.from({ length: REPS }, () => timeCpuLoop(loop, n)));
  const ops = n * loop.opsPerIteration;
  return { name: loop.name, opsPerSecond: ops / (ms / 1e3), ops, ms };
}
