/**
 * Registers the kernel benchmarks of some families of the case table (cases.ts) and prints
 * their report after the run.
 *
 * Per case there are two benches in the family's group: `gpu <case>` records the node's
 * dispatches (planned, uploaded and bound once, on its first call) as one compute pass and
 * times it with the GPU timer (gpu_timer.ts: timestamp queries where the device has them);
 * `cpu <case>` calls the op's fast CPU kernel (`cpu`, or `reference` where the op has none) on
 * the same inputs. Deno.bench shows wall time per call (for the GPU: submit, GPU work and the
 * timestamp readback); the report printed after the run gives, per case, the median GPU
 * time and CPU time with their Gop/s (2 ops per multiply-add), GB/s of compulsory traffic
 * (inputs read once, outputs written once), the fraction of the measured peak (peak.ts: f32
 * fma, or `dot4I8Packed` for int8 cases; no CPU int8 peak is measured), and
 * the relative L2 distance of the GPU output from the CPU output. The first case of each
 * family is the group's baseline. The peaks are measured in the first bench call.
 *
 * @module
 */

import { errorMessage } from "../src/errors.ts";
import { type GpuContext, openGpu } from "../src/executor/gpu_device.ts";
import { readTensor } from "../src/executor/gpu_buffers.ts";
import { type GpuDispatch, prepareNodeOnGpu } from "../src/executor/gpu_node_runner.ts";
import type { GpuResource } from "../src/executor/gpu_textures.ts";
import { PipelineCache } from "../src/executor/pipeline_cache.ts";
import type { Tensor } from "../src/graph/types.ts";
import { opFor } from "../src/ops/registry.ts";
import { relativeL2 } from "../src/testing/tolerance.ts";
import { afterBenches } from "./after_run.ts";
import {
  caseBytes,
  caseInputs,
  KERNEL_CASES,
  type KernelCase,
  type KernelFamily,
} from "./cases.ts";
import { GpuTimer } from "./gpu_timer.ts";
import { measurePeaks, type Peak, type Peaks } from "./peak.ts";
import { summarize } from "./stats.ts";
import { fmt, formatTable } from "./table.ts";

/** Deno.bench iterations per bench (a suggestion that Deno raises for fast benches). */
const ITERATIONS = 10;

/** One case's inputs, GPU state and samples. */
interface CaseRun {
  kernel: KernelCase;
  inputs: (Tensor | undefined)[];
  gpuMs: number[];
  cpuMs: number[];
  gpuOutput?: Tensor;
  cpuOutput?: Tensor;
  cpuKernel: "cpu" | "reference";
  gpuReady?: Promise<GpuDispatch[]>;
}

const gpu: GpuContext | null = await openGpu().catch((err) => {
  console.warn(`GPU benches are ignored: ${errorMessage(err)}`);
  return null;
});
const cache = gpu && new PipelineCache(gpu.device);
const timer = gpu && new GpuTimer(gpu);
const runs: CaseRun[] = [];
/** Set by the first bench that runs: the report after the run must be synchronous. */
let peaks: Peaks | undefined;
let peaksMeasured: Promise<void> | undefined;

/** Measures the peaks once, in the first bench call (a warm-up call Deno does not time). */
function measurePeaksOnce(): Promise<void> {
  return peaksMeasured ??= measurePeaks(gpu).then((p) => {
    peaks = p;
  });
}

/** Prepares `run`'s node on the GPU, runs it once untimed and keeps its output. */
async function prepareGpu(run: CaseRun): Promise<GpuDispatch[]> {
  // The buffers live until the process ends: the report after the last bench cannot await.
  const track = <R extends GpuResource>(r: R): R => r;
  const { node } = run.kernel;
  const prepared = await prepareNodeOnGpu(gpu!, node, run.inputs, cache!, track);
  await timer!.time(prepared.dispatches, 1, node.name);
  run.gpuOutput = await readTensor(gpu!.device, prepared.outputBuffers[0], prepared.outputs[0]);
  return prepared.dispatches;
}

/** Registers the GPU and CPU benches of every case of `families`. */
export function benchKernelFamilies(families: readonly KernelFamily[]): void {
  for (const family of families) {
    KERNEL_CASES.filter((c) => c.family === family).forEach((kernel, i) => {
      const def = opFor(kernel.node);
      const run: CaseRun = {
        kernel,
        inputs: caseInputs(kernel, 1 + runs.length),
        gpuMs: [],
        cpuMs: [],
        cpuKernel: def.cpu ? "cpu" : "reference",
      };
      runs.push(run);
      const cpuKernel = def.cpu ?? def.reference;
      Deno.bench({
        name: `gpu ${kernel.name}`,
        group: family,
        baseline: i === 0,
        ignore: gpu === null,
        n: ITERATIONS,
        warmup: 1,
        fn: async () => {
          await measurePeaksOnce();
          const dispatches = await (run.gpuReady ??= prepareGpu(run));
          run.gpuMs.push(...await timer!.time(dispatches, 1, kernel.node.name));
        },
      });
      Deno.bench({
        name: `cpu ${kernel.name}`,
        group: family,
        n: ITERATIONS,
        warmup: 1,
        fn: async () => {
          await measurePeaksOnce();
          const start = performance.now();
          const [y] = cpuKernel(kernel.node, run.inputs);
          run.cpuMs.push(performance.now() - start);
          run.cpuOutput ??= y;
        },
      });
    });
  }
}

/** Gop/s, GB/s and percent of `peakOps` of one case at `ms` per run. */
function rates(kernel: KernelCase, ms: number | undefined, peakOps: number | undefined) {
  if (ms === undefined) return ["-", "-", "-", "-"];
  const opsPerSecond = kernel.ops / (ms / 1e3);
  return [
    fmt(ms),
    fmt(opsPerSecond / 1e9),
    fmt(caseBytes(kernel) / (ms / 1e3) / 1e9),
    peakOps ? `${fmt((100 * opsPerSecond) / peakOps, 2)}%` : "-",
  ];
}

/** The report of every case that ran, against `peaks`. */
function kernelReport(peaks: Peaks): string {
  const median = (samples: number[]) => samples.length > 0 ? summarize(samples).median : undefined;
  const rows = runs.filter((r) => r.gpuMs.length + r.cpuMs.length > 0).map((r) => [
    r.kernel.family,
    r.kernel.name,
    r.cpuKernel,
    ...rates(
      r.kernel,
      median(r.gpuMs),
      (r.kernel.arithmetic === "int8" ? peaks.gpuDot4I8 : peaks.gpuF32)?.opsPerSecond,
    ),
    ...rates(
      r.kernel,
      median(r.cpuMs),
      r.kernel.arithmetic === "int8" ? undefined : (peaks.cpuSimd ?? peaks.cpu).opsPerSecond,
    ),
    r.gpuOutput && r.cpuOutput ? fmt(relativeL2(r.gpuOutput.data, r.cpuOutput.data), 2) : "-",
  ]);
  const peak = (p: Peak | undefined) => p ? `${fmt(p.opsPerSecond / 1e9)} Gop/s` : "not measured";
  const timing = timer?.mode === "timestamp"
    ? "timestamp queries"
    : "wall clock around each submission";
  const head = `GPU: ${gpu?.description ?? "none"}, timed by ${timing}. Peaks: GPU f32 fma ` +
    `${peak(peaks.gpuF32)}, GPU dot4I8Packed ${peak(peaks.gpuDot4I8)}, CPU JS multiply-add ` +
    `${peak(peaks.cpu)}, CPU wasm SIMD ${peak(peaks.cpuSimd)} (one thread). Times are medians ` +
    `in ms; GPU % peak is of the f32 fma peak (int8 cases: the dot4I8Packed one), CPU % peak ` +
    `of the wasm SIMD one (JS without SIMD; none measured for int8).`;
  return [
    head,
    formatTable(
      [
        "family",
        "case",
        "CPU kernel",
        "GPU ms",
        "Gop/s",
        "GB/s",
        "% peak",
        "CPU ms",
        "Gop/s",
        "GB/s",
        "% peak",
        "rel L2 GPU/CPU",
      ],
      rows,
      3,
    ),
  ].join("\n");
}

afterBenches("Kernel report", () => {
  if (!peaks) return;
  console.log(`\nKernel report\n${kernelReport(peaks)}`);
});
