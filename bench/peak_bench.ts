/**
 * The peak microbenchmarks of peak.ts and cpu_peak.ts as benches: the adapter's f32 fma and
 * dot4I8Packed throughput, and one CPU thread's JS scalar and WebAssembly SIMD multiply-add
 * throughput. Each kernel is calibrated
 * on its bench's first call; every later call times one run. The report after the run gives
 * the best and median throughput of each.
 *
 * ```sh
 * deno task bench bench/peak_bench.ts
 * ```
 *
 * @module
 */

import { errorMessage } from "../src/errors.ts";
import { openGpu } from "../src/executor/gpu_device.ts";
import { afterBenches } from "./after_run.ts";
import { GpuTimer } from "./gpu_timer.ts";
import {
  calibrateCpuLoop,
  type CpuPeakLoop,
  jsPeakLoop,
  timeCpuLoop,
  wasmPeakLoop,
} from "./cpu_peak.ts";
import { DOT4_FEATURE, GpuPeakKernel, type GpuPeakKind, hasDot4 } from "./peak.ts";
import { summarize } from "./stats.ts";
import { fmt, formatTable } from "./table.ts";

const ITERATIONS = 10;

/** One peak bench's samples: operations and milliseconds of each timed run. */
interface PeakSamples {
  name: string;
  runs: { ops: number; ms: number }[];
}

const gpu = await openGpu().catch((err) => {
  console.warn(`GPU peak benches are ignored: ${errorMessage(err)}`);
  return null;
});
const timer = gpu && new GpuTimer(gpu);
const samples: PeakSamples[] = [];

/** Registers the bench of the GPU peak of `kind`. */
function gpuPeakBench(kind: GpuPeakKind, name: string, missing?: string): void {
  if (missing) console.warn(`${name} is ignored: ${missing}`);
  const record: PeakSamples = { name, runs: [] };
  samples.push(record);
  let kernel: Promise<GpuPeakKernel> | undefined;
  Deno.bench({
    name,
    group: "peak",
    baseline: kind === "f32-fma",
    ignore: gpu === null || missing !== undefined,
    n: ITERATIONS,
    warmup: 1,
    fn: async () => {
      kernel ??= GpuPeakKernel.create(gpu!, timer!, kind).then(async (k) => {
        await k.calibrate();
        return k;
      });
      const k = await kernel;
      const [ms] = await k.time(1);
      record.runs.push({ ops: k.ops, ms });
    },
  });
}

gpuPeakBench("f32-fma", "gpu f32 fma");
gpuPeakBench(
  "dot4-i8",
  "gpu dot4I8Packed",
  hasDot4() ? undefined : `the WGSL language feature "${DOT4_FEATURE}" is missing`,
);

/** Registers the bench of a CPU peak loop. */
function cpuPeakBench(loop: CpuPeakLoop, name: string): void {
  const record: PeakSamples = { name, runs: [] };
  samples.push(record);
  let iterations: number | undefined;
  Deno.bench({
    name,
    group: "peak",
    n: ITERATIONS,
    warmup: 1,
    fn: () => {
      iterations ??= calibrateCpuLoop(loop);
      record.runs.push({
        ops: iterations * loop.opsPerIteration,
        ms: timeCpuLoop(loop, iterations),
      });
    },
  });
}

cpuPeakBench(jsPeakLoop(), "cpu js multiply-add");
const wasm = wasmPeakLoop();
if (wasm) cpuPeakBench(wasm, "cpu wasm simd multiply-add");
else console.warn("cpu wasm simd multiply-add is ignored: the engine has no WebAssembly SIMD");

afterBenches("Peak report", () => {
  const rows = samples.filter((s) => s.runs.length > 0).map(({ name, runs }) => {
    const rates = runs.map((r) => r.ops / (r.ms / 1e3) / 1e9);
    return [name, fmt(Math.max(...rates)), fmt(summarize(rates).median)];
  });
  if (rows.length === 0) return;
  console.log(`\nPeak report (${gpu?.description ?? "no GPU"}, ${timer?.mode ?? "-"} timing)`);
  console.log(formatTable(["peak", "best Gop/s", "median Gop/s"], rows));
});
