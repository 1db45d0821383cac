/**
 * Where a model's time goes, node by node. GPU (default): loads a full-size zoo-synth model
 * (tests/_zoo.ts), or with `--model` a path ending in `.onnx` that file, into a GPU session after the fusion passes a session applies, runs it once,
 * then times every node's dispatches on their own (one compute pass per node, GPU timestamps
 * where the device has them, gpu_timer.ts), `--runs` times in rounds over all nodes so that
 * drifts of the host's speed spread over every node alike. CPU (`--backend cpu`, on
 * `--threads`): the wall time of each node's kernel inside whole runs.
 * Prints the whole run's median, the time per kind of node (op, and for Conv its kernel size
 * and stride) and the `--top` slowest nodes with their programs.
 *
 * ```sh
 * deno task bench:profile [--model resnet50-v1-12|FILE.onnx] [--backend gpu|cpu] [--batch N] [--f16]
 *   [--threads N] [--runs N] [--top N]
 * ```
 *
 * A node's inputs are whatever its buffers hold after the previous node's timing, which costs
 * the same work as a real run's values: no kernel's speed depends on the data.
 *
 * @module
 */

import { basename } from "node:path";
import { parseArgs } from "node:util";
import { errorMessage } from "../src/errors.ts";
import { openGpu } from "../src/executor/gpu_device.ts";
import { CpuSession } from "../src/executor/cpu_executor.ts";
import { cpuKernelsStarted } from "../src/executor/cpu_kernels.ts";
import { GpuSession } from "../src/executor/gpu_executor.ts";
import type { GpuDispatch } from "../src/executor/gpu_node_runner.ts";
import type { Graph, Node, TensorType } from "../src/graph/types.ts";
import { fusionPasses } from "../src/graph/passes/pipelines.ts";
import { convertOnnx } from "../src/onnx/convert_model.ts";
import type { StoragePrecision } from "../src/ops/op.ts";
import { opFor } from "../src/ops/registry.ts";
import { setCpuThreads } from "../src/wasm/cpu_threads.ts";
import { randomTensor, seededRandom } from "../src/testing/random.ts";
import { decodeModel } from "../src/weights/decode.ts";
import { zooModel } from "../tests/_zoo.ts";
import { GpuTimer } from "./gpu_timer.ts";
import { summarize } from "./stats.ts";
import { fmt, formatTable } from "./table.ts";

const USAGE =
  "usage: deno task bench:profile [--model NAME|FILE.onnx] [--backend gpu|cpu] [--batch N] " +
  "[--f16] [--threads N] [--runs N] [--top N]";

/** One node's dispatches and its measured median. */
export interface NodeTime {
  /** Node name. */
  node: string;
  /** Kind of node (`nodeKind`). */
  kind: string;
  /** Programs it dispatches, in order. */
  programs: string[];
  /** Median milliseconds of its dispatches. */
  ms: number;
}

/**
 * The kind of `node` for the report: its op, and for Conv the kernel size, the stride when
 * above 1, and "dw" when depthwise, read from the weight type `weight` (e.g. "Conv 3x3/2").
 */
export function nodeKind(node: Node, weight: TensorType | undefined): string {
  if (node.op !== "Conv" || !weight) return node.op;
  const [, cg, kh, kw] = weight.shape;
  const strides = (node.attrs.strides as number[] | undefined) ?? [1, 1];
  const stride = strides.some((s) => s > 1) ? `/${strides.join("x")}` : "";
  return `Conv ${kh}x${kw}${stride}${cg === 1 && Number(node.attrs.group ?? 1) > 1 ? " dw" : ""}`;
}

/** Rows of the per-kind table: kind, nodes, milliseconds and share, slowest kind first. */
export function kindRows(times: readonly NodeTime[]): string[][] {
  const total = times.reduce((sum, t) => sum + t.ms, 0);
  const byKind = new Map<string, { nodes: number; ms: number }>();
  for (const t of times) {
    const entry = byKind.get(t.kind) ?? { nodes: 0, ms: 0 };
    byKind.set(t.kind, { nodes: entry.nodes + 1, ms: entry.ms + t.ms });
  }
  return [...byKind].sort((a, b) => b[1].ms - a[1].ms).map(([kind, { nodes, ms }]) => [
    kind,
    String(nodes),
    fmt(ms),
    `${fmt(100 * ms / total, 2)}%`,
  ]);
}

/** `dispatches` grouped by node, in order of first appearance. */
export function groupByNode(dispatches: readonly GpuDispatch[]): Map<string, GpuDispatch[]> {
  const groups = new Map<string, GpuDispatch[]>();
  for (const d of dispatches) {
    const group = groups.get(d.node) ?? [];
    group.push(d);
    groups.set(d.node, group);
  }
  return groups;
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be an integer >= 1`);
  return n;
}

/** A measured profile: what was run, and each node's time. */
interface Profile {
  /** One line on the model, backend and timing. */
  header: string;
  /** Per node, in schedule order. */
  times: NodeTime[];
}

/** Per-node GPU times (module doc). */
async function profileGpu(
  name: string,
  graph: Graph,
  batch: number,
  runs: number,
  storage: StoragePrecision,
): Promise<Profile> {
  const gpu = await openGpu();
  const session = await GpuSession.create(gpu, graph, { batch, storage });
  const timer = new GpuTimer(gpu);
  try {
    await session.run(randomInputs(graph, session.types));
    const groups = groupByNode(session.dispatches);
    const samples = new Map([...groups.keys()].map((node) => [node, [] as number[]]));
    const whole: number[] = [];
    for (let r = 0; r < runs; r++) {
      whole.push(...await timer.time([...session.dispatches], 1, `${name} run`));
      for (const [node, dispatches] of groups) {
        samples.get(node)!.push(...await timer.time(dispatches, 1, node));
      }
    }
    const nodes = new Map(graph.nodes.map((n) => [n.name, n]));
    const times = [...groups].map(([node, dispatches]) => {
      const n = nodes.get(node)!;
      return {
        node,
        kind: nodeKind(n, session.types.get(n.inputs[1])),
        programs: dispatches.map((d) => d.program),
        ms: summarize(samples.get(node)!).median,
      };
    });
    return {
      header: `${name}, batch ${batch}, ${storage} storage on ${gpu.description} (${timer.mode} ` +
        `timing, ${runs} runs): whole run ${fmt(summarize(whole).median)} ms, ` +
        `${session.dispatches.length} dispatches`,
      times,
    };
  } finally {
    timer.dispose();
    session.dispose();
    gpu.device.destroy();
  }
}

/** Per-node CPU times: each kernel's wall time in whole runs (`CpuSession.run`'s observer). */
async function profileCpu(
  name: string,
  graph: Graph,
  batch: number,
  runs: number,
  threads: number,
): Promise<Profile> {
  setCpuThreads(threads);
  await cpuKernelsStarted(graph);
  const session = new CpuSession(graph, { batch });
  const inputs = randomInputs(graph, session.types);
  await session.run(inputs);
  const samples = new Map<string, { node: Node; ms: number[] }>();
  const whole: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    await session.run(inputs, (node, ms) => {
      const entry = samples.get(node.name) ?? { node, ms: [] };
      entry.ms.push(ms);
      samples.set(node.name, entry);
    });
    whole.push(performance.now() - start);
  }
  const times = [...samples.values()].filter(({ node }) => !opFor(node).view).map((
    { node, ms },
  ) => ({
    node: node.name,
    kind: nodeKind(node, session.types.get(node.inputs[1])),
    programs: [],
    ms: summarize(ms).median,
  }));
  return {
    header: `${name}, batch ${batch}, CPU path on ${threads} thread(s) (wall clock, ${runs} ` +
      `runs): whole run ${fmt(summarize(whole).median)} ms`,
    times,
  };
}

/** Seeded random inputs for `graph`'s inputs at their types in `types`. */
function randomInputs(graph: Graph, types: ReadonlyMap<string, TensorType>) {
  const random = seededRandom(1);
  return Object.fromEntries(
    graph.inputs.map(({ name }) => {
      const { dtype, shape } = types.get(name)!;
      const range: [number, number] = dtype === "f32" ? [-1, 1] : [0, 256];
      return [name, randomTensor(random, dtype, shape, ...range)];
    }),
  );
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string", default: "resnet50-v1-12" },
      backend: { type: "string", default: "gpu" },
      batch: { type: "string", default: "1" },
      runs: { type: "string", default: "10" },
      threads: { type: "string", default: "1" },
      top: { type: "string", default: "15" },
      f16: { type: "boolean", default: false },
    },
    strict: true,
  });
  const [batch, runs, threads, top] = (["batch", "runs", "threads", "top"] as const).map((k) =>
    positive(k, values[k])
  );
  if (values.backend !== "gpu" && values.backend !== "cpu") {
    throw new Error(`--backend must be gpu or cpu, got "${values.backend}"`);
  }
  const file = values.model.endsWith(".onnx") ? values.model : await zooModel(values.model);
  const name = values.model.endsWith(".onnx") ? basename(file, ".onnx") : values.model;
  const onnx = await Deno.readFile(file);
  const { manifest, weights } = await convertOnnx(onnx, { name, source: basename(file) });
  const graph = fusionPasses((await decodeModel(manifest, weights)).graph);
  const { header, times } = values.backend === "cpu"
    ? await profileCpu(name, graph, batch, runs, threads)
    : await profileGpu(name, graph, batch, runs, values.f16 ? "f16" : "f32");
  const sum = times.reduce((s, t) => s + t.ms, 0);
  console.log(`${header}; nodes ${fmt(sum)} ms in ${times.length} nodes\n`);
  console.log(formatTable(["kind", "nodes", "ms", "share"], kindRows(times)));
  const slowest = [...times].sort((a, b) => b.ms - a.ms).slice(0, top);
  console.log(
    `\n${
      formatTable(
        ["node", "kind", "ms", "share", "programs"],
        slowest.map((t) => [
          t.node,
          t.kind,
          fmt(t.ms),
          `${fmt(100 * t.ms / sum, 2)}%`,
          t.programs.join(", "),
        ]),
        2,
      )
    }`,
  );
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (err) {
    console.error(`bench:profile: ${errorMessage(err)}\n${USAGE}`);
    Deno.exit(1);
  }
}
