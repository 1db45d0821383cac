/**
 * Runs a whole graph on the CPU, following the same execution plan as the GPU executor: nodes
 * in schedule order, each through its op's `cpu` kernel (or `reference` where there is none),
 * views sharing their source's data, and every value dropped after its last use.
 *
 * @module
 */

import { checkInputTensors, inferGraphTypes } from "../graph/shape_inference.ts";
import type { Graph, Node, Tensor, TensorType } from "../graph/types.ts";
import { opFor } from "../ops/registry.ts";
import { type ExecutionPlan, type MemoryReport, planExecution } from "./plan.ts";

/** Options of `CpuSession`. */
export interface CpuSessionOptions {
  /** Batch size bound to the inputs' batch symbol; default 1. */
  batch?: number;
}

/** A graph ready to run on the CPU. */
export class CpuSession {
  /** The execution plan (schedule and liveness; the arena placement is unused here). */
  readonly plan: ExecutionPlan;
  /** The plan's memory figures: live intermediates never exceed `lowerBoundBytes`. */
  readonly memory: MemoryReport;
  /** Concrete type of every value at this session's batch size. */
  readonly types: ReadonlyMap<string, TensorType>;
  #graph: Graph;

  /** Plans `graph` for `options.batch`; throws a clear error for unsupported ops or shapes. */
  constructor(graph: Graph, options: CpuSessionOptions = {}) {
    this.#graph = graph;
    this.types = inferGraphTypes(graph, { batch: options.batch ?? 1 });
    this.plan = planExecution(graph, this.types);
    this.memory = this.plan.memory;
  }

  /**
   * Runs the graph on `inputs` (checked against the graph's inputs) and returns its outputs;
   * `observe`, where given, gets each node and the milliseconds its kernel took (profiling).
   */
  // deno-lint-ignore require-await -- async so that input errors reject like GPU errors do
  async run(
    inputs: Record<string, Tensor>,
    observe?: (node: Node, ms: number) => void,
  ): Promise<Record<string, Tensor>> {
    checkInputTensors(this.#graph, this.types, inputs);
    const live = new Map<string, Tensor>(Object.entries(inputs));
    const read = (name: string) => live.get(name) ?? this.#graph.initializers.get(name)!;
    this.plan.schedule.forEach((node, step) => {
      const args = node.inputs.map((name) => (name === "" ? undefined : read(name)));
      const def = opFor(node);
      const start = performance.now();
      const outputs = this.plan.isView[step]
        ? [{ ...this.types.get(node.outputs[0])!, data: args[0]!.data }]
        : (def.cpu ?? def.reference)(node, args);
      observe?.(node, performance.now() - start);
      node.outputs.forEach((name, i) => {
        if (name === "") return;
        const want = this.types.get(name)!;
        const got = outputs[i];
        if (!got || got.dtype !== want.dtype || got.shape.join() !== want.shape.join()) {
          throw new Error(
            `Node "${node.name}" (${node.op}) produced ${
              got ? `${got.dtype} [${got.shape}]` : "nothing"
            } for "${name}", but its type is ${want.dtype} [${want.shape}]`,
          );
        }
        live.set(name, got);
      });
      for (const name of [...node.inputs, ...node.outputs]) {
        if (this.plan.values.get(name)?.lastUse === step) live.delete(name);
      }
    });
    return Object.fromEntries(this.#graph.outputs.map(({ name }) => [name, read(name)]));
  }

  /** Releases nothing: the CPU session holds no resources beyond garbage-collected memory. */
  dispose(): void {}
}
